package marketing

import (
	"embed"

	"github.com/crmkit/crm/contacts"

	"github.com/crmkit/crm/storage"
)

//go:embed migrations
var migrationFiles embed.FS

// The record types of this package.
const (
	ObjectList           = "mailing_list"
	ObjectSubscription   = "subscription"
	ObjectSuppression    = "suppression"
	ObjectSegment        = "segment"
	ObjectSegmentMember  = "segment_member"
	ObjectCampaign       = "campaign"
	ObjectCampaignMember = "campaign_member"
	ObjectEmail          = "campaign_email"
	ObjectMessage        = "email_message"
	ObjectHit            = "tracking_hit"
	ObjectForm           = "web_form"
	ObjectFormPost       = "form_post"
	ObjectScoringRule    = "scoring_rule"
	ObjectScore          = "lead_score"
	ObjectPost           = "social_post"
	ObjectMention        = "social_mention"
)

// Module describes the marketing module to a store: subscription lists and
// subscriptions, the suppression list, segments and their members,
// campaigns and their members, campaign emails, the message sent to each
// recipient and the tracking hits on them, web forms and their posts,
// scoring rules, lead scores and their predictive models (ObjectModel),
// social posts and mentions. It requires the contacts module. crm.New
// registers it.
func Module() storage.Module {
	none := storage.PersonalData{None: true}
	// The records about one person go with the person.
	erased := func(fields ...string) storage.PersonalData {
		return storage.PersonalData{ContactField: "contact_id", Fields: fields, Erase: storage.EraseRecord}
	}
	return storage.Module{
		Name:       "marketing",
		Migrations: storage.MigrationDir(migrationFiles, "migrations"),
		Requires:   []string{"contacts"},
		Types: []storage.RecordType{
			storage.Type[*List]("crm_mkt_lists", storage.TypeOptions{Access: storage.AccessConfig, Personal: none}),
			storage.Type[*Subscription]("crm_mkt_subscriptions", storage.TypeOptions{Personal: erased("email")}),
			storage.Type[*Suppression]("crm_mkt_suppressions", storage.TypeOptions{Personal: erased("email", "detail")}),
			storage.Type[*Segment]("crm_mkt_segments", storage.TypeOptions{Personal: none}),
			storage.Type[*SegmentMember]("crm_mkt_segment_members", storage.TypeOptions{Personal: erased()}),
			storage.Type[*Campaign]("crm_mkt_campaigns", storage.TypeOptions{Personal: none}),
			storage.Type[*CampaignMember]("crm_mkt_campaign_members", storage.TypeOptions{Personal: erased()}),
			storage.Type[*Email]("crm_mkt_emails", storage.TypeOptions{Personal: none}),
			// A message shows on its contact's timeline as itself (a send
			// writes no event per message), and its later events (opened,
			// clicked, bounced) with it, found by its contact_id.
			storage.Type[*Message]("crm_mkt_messages", storage.TypeOptions{Personal: erased("address", "error"),
				TimelineAt: "created_at", TimelineEvents: true, TimelineField: "contact_id"}),
			storage.Type[*Hit]("crm_mkt_hits", storage.TypeOptions{Personal: erased("url", "user_agent")}),
			storage.Type[*Form]("crm_mkt_forms", storage.TypeOptions{Personal: none}),
			// A post to a lead form names the lead, which sales forgets
			// with the person; the values go with the contact's.
			storage.Type[*FormPost]("crm_mkt_form_posts", storage.TypeOptions{Personal: erased("form_values")}),
			storage.Type[*ScoringRule]("crm_mkt_scoring_rules", storage.TypeOptions{Access: storage.AccessConfig, Personal: none}),
			storage.Type[*Score]("crm_mkt_scores", storage.TypeOptions{Personal: erased()}),
			storage.Type[*Post]("crm_mkt_posts", storage.TypeOptions{Personal: none}),
			// A mention names its author; it shows on the author's
			// timeline and goes with them.
			storage.Type[*Mention]("crm_mkt_mentions", storage.TypeOptions{TimelineAt: "at",
				Personal: erased("handle", "author", "text", "url")}),
			// A model keeps weights and means, no one's values.
			storage.Type[*Model]("crm_mkt_models", storage.TypeOptions{Access: storage.AccessConfig, Personal: none}),
		},
	}
}

// tables are the marketing module's tables in a store.
type tables struct {
	lists        storage.Table[*List]
	subs         storage.Table[*Subscription]
	suppressions storage.Table[*Suppression]
	segments     storage.Table[*Segment]
	members      storage.Table[*SegmentMember]
	campaigns    storage.Table[*Campaign]
	cmembers     storage.Table[*CampaignMember]
	emails       storage.Table[*Email]
	messages     storage.Table[*Message]
	hits         storage.Table[*Hit]
	forms        storage.Table[*Form]
	posts        storage.Table[*FormPost]
	rules        storage.Table[*ScoringRule]
	scores       storage.Table[*Score]
	socialPosts  storage.Table[*Post]
	mentions     storage.Table[*Mention]
	models       storage.Table[*Model]
	contacts     storage.Table[*contacts.Contact]
	accounts     storage.Table[*contacts.Account]
}

func tablesOf(s storage.Tables) tables {
	return tables{
		lists:        storage.TableOf[*List](s),
		subs:         storage.TableOf[*Subscription](s),
		suppressions: storage.TableOf[*Suppression](s),
		segments:     storage.TableOf[*Segment](s),
		members:      storage.TableOf[*SegmentMember](s),
		campaigns:    storage.TableOf[*Campaign](s),
		cmembers:     storage.TableOf[*CampaignMember](s),
		emails:       storage.TableOf[*Email](s),
		messages:     storage.TableOf[*Message](s),
		hits:         storage.TableOf[*Hit](s),
		forms:        storage.TableOf[*Form](s),
		posts:        storage.TableOf[*FormPost](s),
		rules:        storage.TableOf[*ScoringRule](s),
		scores:       storage.TableOf[*Score](s),
		socialPosts:  storage.TableOf[*Post](s),
		mentions:     storage.TableOf[*Mention](s),
		models:       storage.TableOf[*Model](s),
		contacts:     storage.TableOf[*contacts.Contact](s),
		accounts:     storage.TableOf[*contacts.Account](s),
	}
}
