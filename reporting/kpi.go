package reporting

import (
	"context"
	"fmt"

	"github.com/crmkit/crm/storage"
)

// KPIs returns the KPIs the service offers (Options.KPIs: crm.New gives it
// every module's), in their order.
func (s *Service) KPIs() []storage.KPI { return s.opts.KPIs }

// KPI computes the KPI name over p's range as the context's member.
// An unknown name is ErrInvalid.
func (s *Service) KPI(ctx context.Context, name string, p Params) ([]storage.KPIValue, error) {
	k, ok := s.kpi(name)
	if !ok {
		return nil, storage.Invalid("kpi", "%q is not a KPI of the CRM's modules", name)
	}
	v, err := k.Compute(ctx, p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("kpi %s: %w", name, err)
	}
	return v, nil
}

// kpi returns the KPI name, and whether there is one.
func (s *Service) kpi(name string) (storage.KPI, bool) {
	for _, k := range s.opts.KPIs {
		if k.Name == name {
			return k, true
		}
	}
	return storage.KPI{}, false
}
