package service

import (
	"embed"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

//go:embed migrations
var migrationFiles embed.FS

// The record types of this package.
const (
	ObjectCase      = "case"
	ObjectMessage   = "case_message"
	ObjectSettings  = "service_settings"
	ObjectCalendar  = "service_calendar"
	ObjectSLAPolicy = "sla_policy"
	// ObjectAgent is an agent's desk profile; ObjectAssignmentRule a rule
	// routing new cases to agents.
	ObjectAgent          = "service_agent"
	ObjectAssignmentRule = "assignment_rule"

	// ObjectConversation is a live chat; ObjectChatMessage one of its
	// messages.
	ObjectConversation = "conversation"
	ObjectChatMessage  = "chat_message"
	// ObjectSurvey is a survey asked of a contact.
	ObjectSurvey = "survey_request"
	// The knowledge base: articles, their categories, versions and votes.
	ObjectArticle         = "article"
	ObjectArticleCategory = "article_category"
	ObjectArticleVersion  = "article_version"
	ObjectArticleVote     = "article_vote"
)

// Module describes the service module to a store: cases, their messages,
// each workspace's service settings (its case statuses), business-time
// calendars, SLA policies, agents' profiles and assignment rules, live
// chat conversations and their messages, satisfaction surveys, and the
// knowledge base (articles, their categories, versions and votes). It
// requires the contacts module. crm.New registers it.
func Module() storage.Module {
	// A case and its messages are about their contact, and go with them.
	erased := storage.PersonalData{ContactField: "contact_id", Erase: storage.EraseRecord}
	config := storage.TypeOptions{Access: storage.AccessConfig, Personal: storage.PersonalData{None: true}}
	return storage.Module{
		Name:       "service",
		Migrations: storage.MigrationDir(migrationFiles, "migrations"),
		Requires:   []string{"contacts"},
		Types: []storage.RecordType{
			storage.Type[*Case]("crm_cases", storage.TypeOptions{Personal: erased}),
			storage.Type[*Message]("crm_case_messages", storage.TypeOptions{Personal: erased, TimelineAt: "sent_at"}),
			storage.Type[*Settings]("crm_service_settings", config),
			storage.Type[*Calendar]("crm_service_calendars", config),
			storage.Type[*SLAPolicy]("crm_sla_policies", config),
			storage.Type[*Agent]("crm_service_agents", config),
			storage.Type[*AssignmentRule]("crm_assignment_rules", config),
			// A conversation and its messages are their contact's too.
			storage.Type[*Conversation]("crm_conversations", storage.TypeOptions{Personal: erased}),
			storage.Type[*ChatMessage]("crm_chat_messages", storage.TypeOptions{Personal: erased, TimelineAt: "sent_at"}),
			// A survey's answer is its contact's to see and to have erased.
			storage.Type[*SurveyRequest]("crm_survey_requests", storage.TypeOptions{Personal: storage.PersonalData{
				ContactField: "contact_id", Fields: []string{"comment_text"}, Erase: storage.EraseRecord}}),
			storage.Type[*ArticleCategory]("crm_article_categories", config),
			storage.Type[*Article]("crm_articles", storage.TypeOptions{Personal: storage.PersonalData{None: true}}),
			storage.Type[*ArticleVersion]("crm_article_versions", storage.TypeOptions{Personal: storage.PersonalData{None: true}}),
			// A contact's votes are theirs; the article's counts follow
			// every write of one.
			storage.Type[*ArticleVote]("crm_article_votes", storage.TypeOptions{AfterWrite: countVote,
				Personal: storage.PersonalData{ContactField: "contact_id", Erase: storage.EraseRecord}}),
		},
	}
}

// tables are the service module's tables in a store.
type tables struct {
	cases     storage.Table[*Case]
	messages  storage.Table[*Message]
	settings  storage.Table[*Settings]
	calendars storage.Table[*Calendar]
	policies  storage.Table[*SLAPolicy]
	agents    storage.Table[*Agent]
	rules     storage.Table[*AssignmentRule]
	members   storage.Table[*access.Member]
	surveys   storage.Table[*SurveyRequest]
	contacts  storage.Table[*contacts.Contact]
	accounts  storage.Table[*contacts.Account]

	conversations storage.Table[*Conversation]
	chat          storage.Table[*ChatMessage]

	articles   storage.Table[*Article]
	categories storage.Table[*ArticleCategory]
	versions   storage.Table[*ArticleVersion]
	votes      storage.Table[*ArticleVote]
}

func tablesOf(s storage.Tables) tables {
	return tables{
		cases:     storage.TableOf[*Case](s),
		messages:  storage.TableOf[*Message](s),
		settings:  storage.TableOf[*Settings](s),
		calendars: storage.TableOf[*Calendar](s),
		policies:  storage.TableOf[*SLAPolicy](s),
		agents:    storage.TableOf[*Agent](s),
		rules:     storage.TableOf[*AssignmentRule](s),
		members:   storage.TableOf[*access.Member](s),
		surveys:   storage.TableOf[*SurveyRequest](s),
		contacts:  storage.TableOf[*contacts.Contact](s),
		accounts:  storage.TableOf[*contacts.Account](s),

		conversations: storage.TableOf[*Conversation](s),
		chat:          storage.TableOf[*ChatMessage](s),

		articles:   storage.TableOf[*Article](s),
		categories: storage.TableOf[*ArticleCategory](s),
		versions:   storage.TableOf[*ArticleVersion](s),
		votes:      storage.TableOf[*ArticleVote](s),
	}
}
