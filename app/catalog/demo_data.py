"""The demo catalog: ten products in six categories, each with two or three tiers.

Tiers give a monthly base price (minor units); the five cycles are priced from it
(see app/catalog/demo.py), a year costing `yearly_months` months (10 unless said).
Features written "Key: value" line up as comparison rows.
"""

from typing import Any

REGIONS = ["EU", "US", "APAC"]

PRODUCTS: list[dict[str, Any]] = [
    {
        "slug": "pipewise-crm",
        "name": "Pipewise CRM",
        "category": "CRM",
        "icon": "pipeline",
        "tagline": "The sales pipeline your team will actually keep up to date.",
        "description": (
            "Pipewise turns every deal into a card you can drag from first call to signed contract. "
            "Email and calendar sync log the conversations for you, so the pipeline reflects what really "
            "happened this week rather than what someone remembered on Friday.\n\n"
            "Forecasts roll up from each rep's deals with the probability you set per stage, and a weekly "
            "digest tells managers which opportunities have gone quiet. Territories, quotas and custom "
            "fields fit the way your team already sells.\n\n"
            "Import from a spreadsheet or another CRM in minutes; every record keeps a full history of "
            "who changed what and when."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "company_name": {"type": "string", "title": "Company name", "minLength": 2, "maxLength": 100},
                "seats": {
                    "type": "integer",
                    "title": "Seats",
                    "minimum": 1,
                    "maximum": 500,
                    "default": 5,
                    "description": "Everyone who logs in to Pipewise needs a seat.",
                },
                "data_region": {"type": "string", "title": "Data region", "enum": REGIONS},
            },
            "required": ["company_name", "seats", "data_region"],
        },
        "tiers": [
            ("Starter", 2900, 14, ["Seats: up to 3", "Pipelines: 1", "Email and calendar sync", "Mobile app"]),
            (
                "Growth",
                7900,
                14,
                [
                    "Seats: up to 25",
                    "Pipelines: 10",
                    "Email and calendar sync",
                    "Mobile app",
                    "Sales forecasting",
                    "Workflow automation",
                ],
            ),
            (
                "Scale",
                19900,
                30,
                [
                    "Seats: up to 500",
                    "Pipelines: Unlimited",
                    "Email and calendar sync",
                    "Mobile app",
                    "Sales forecasting",
                    "Workflow automation",
                    "Territories and quotas",
                    "Single sign-on (SAML)",
                ],
            ),
        ],
        "discounts": {("Growth", "yearly"): "10"},
        "yearly_months": "9.6",
    },
    {
        "slug": "clientbook",
        "yearly_months": "11",
        "name": "Clientbook",
        "category": "CRM",
        "icon": "contacts",
        "tagline": "A friendly client book for agencies, studios and freelancers.",
        "description": (
            "Clientbook keeps every client, contact and project note in one tidy place. See at a glance "
            "who you last spoke to, what you promised and when the next invoice is due.\n\n"
            "Shared inbox views let the whole studio follow a client thread without forwarding emails, "
            "and reminders make sure nobody waits a week for a reply.\n\n"
            "It is deliberately simple: no pipelines to configure and no training required."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "company_name": {"type": "string", "title": "Studio or company name", "minLength": 2, "maxLength": 100},
                "seats": {"type": "integer", "title": "Seats", "minimum": 1, "maximum": 50, "default": 2},
            },
            "required": ["company_name"],
        },
        "tiers": [
            ("Solo", 1200, 30, ["Seats: 1", "Clients: 200", "Reminders", "Client portal"]),
            (
                "Studio",
                3900,
                30,
                [
                    "Seats: up to 10",
                    "Clients: Unlimited",
                    "Reminders",
                    "Client portal",
                    "Shared inbox views",
                    "Time tracking",
                ],
            ),
        ],
        "discounts": {},
    },
    {
        "slug": "lumen-analytics",
        "name": "Lumen Analytics",
        "category": "Analytics",
        "icon": "chart",
        "tagline": "Product analytics that answer questions in seconds, not sprints.",
        "description": (
            "Lumen captures what people do in your product and turns it into funnels, retention curves "
            "and paths without a single SQL query. Ask which feature keeps customers around and get an "
            "answer before your coffee cools.\n\n"
            "Events are collected with a small script or from your server, and identities are merged "
            "across devices. Cohorts you build in Lumen can be sent to your email and ad tools.\n\n"
            "Data is stored in the region you choose and never sold or shared."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "workspace": {
                    "type": "string",
                    "title": "Workspace name",
                    "pattern": "[a-z0-9-]{3,30}",
                    "description": "Lower-case letters, digits and dashes; it becomes your Lumen address.",
                },
                "data_region": {"type": "string", "title": "Data region", "enum": REGIONS},
            },
            "required": ["workspace", "data_region"],
        },
        "tiers": [
            ("Starter", 1900, 14, ["Events per month: 500,000", "Data history: 1 year", "Funnels and retention"]),
            (
                "Team",
                4900,
                14,
                [
                    "Events per month: 5 million",
                    "Data history: 2 years",
                    "Funnels and retention",
                    "Cohort exports",
                    "Group analytics",
                ],
            ),
            (
                "Business",
                14900,
                14,
                [
                    "Events per month: 50 million",
                    "Data history: 7 years",
                    "Funnels and retention",
                    "Cohort exports",
                    "Group analytics",
                    "Data warehouse sync",
                ],
            ),
        ],
        "discounts": {("Team", "yearly"): "15", ("Business", "yearly"): "15"},
    },
    {
        "slug": "quarry-bi",
        "name": "Quarry BI",
        "category": "Analytics",
        "icon": "pie",
        "tagline": "Dashboards and reports straight from the database you already have.",
        "description": (
            "Connect Quarry to Postgres, BigQuery, Snowflake or Redshift and start building dashboards "
            "with drag-and-drop charts or plain SQL. Reports refresh on a schedule and land in inboxes "
            "as PDFs every Monday morning.\n\n"
            "Row-level permissions make one dashboard safe to share with every region, each seeing only "
            "its own numbers. Alerts tell you when a metric crosses a line you care about."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "company_name": {"type": "string", "title": "Company name", "minLength": 2, "maxLength": 100},
                "warehouse": {
                    "type": "string",
                    "title": "Data warehouse",
                    "enum": ["PostgreSQL", "BigQuery", "Snowflake", "Redshift"],
                },
            },
            "required": ["company_name", "warehouse"],
        },
        "tiers": [
            ("Analyst", 3500, 14, ["Editors: 1", "Dashboards: 20", "Scheduled reports"]),
            (
                "Team",
                9900,
                14,
                ["Editors: 10", "Dashboards: Unlimited", "Scheduled reports", "Alerts", "Row-level permissions"],
            ),
            (
                "Enterprise",
                29900,
                0,
                [
                    "Editors: Unlimited",
                    "Dashboards: Unlimited",
                    "Scheduled reports",
                    "Alerts",
                    "Row-level permissions",
                    "Audit log",
                    "Dedicated support",
                ],
            ),
        ],
        "discounts": {},
    },
    {
        "slug": "beacon-desk",
        "name": "Beacon Desk",
        "category": "Helpdesk",
        "icon": "lifebuoy",
        "tagline": "A calm shared inbox for customer support teams.",
        "description": (
            "Beacon Desk brings email, web forms and social messages into one queue with clear owners "
            "and due times. Saved replies and a searchable knowledge base help your team answer the "
            "same question once, beautifully.\n\n"
            "Service-level targets, collision detection and satisfaction surveys keep quality high as "
            "the team grows. Reports show first-response and resolution times by channel and agent.\n\n"
            "Customers get a help center on your own domain that deflects the easy questions."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "company_name": {"type": "string", "title": "Company name", "minLength": 2, "maxLength": 100},
                "agents": {"type": "integer", "title": "Agents", "minimum": 1, "maximum": 500, "default": 3},
                "support_address": {
                    "type": "string",
                    "title": "Support email address",
                    "maxLength": 200,
                    "pattern": "[^@\\s]+@[^@\\s]+\\.[^@\\s]+",
                },
            },
            "required": ["company_name", "agents"],
        },
        "tiers": [
            ("Essentials", 1500, 14, ["Agents: up to 3", "Shared inbox", "Saved replies", "Help center"]),
            (
                "Professional",
                4500,
                14,
                [
                    "Agents: up to 50",
                    "Shared inbox",
                    "Saved replies",
                    "Help center",
                    "Service-level targets",
                    "Satisfaction surveys",
                ],
            ),
            (
                "Enterprise",
                9900,
                30,
                [
                    "Agents: Unlimited",
                    "Shared inbox",
                    "Saved replies",
                    "Help center",
                    "Service-level targets",
                    "Satisfaction surveys",
                    "Custom roles",
                    "Sandbox environment",
                ],
            ),
        ],
        "discounts": {("Professional", "monthly"): "20"},
    },
    {
        "slug": "kindly-chat",
        "yearly_months": "9",
        "name": "Kindly Chat",
        "category": "Helpdesk",
        "icon": "chat",
        "tagline": "Live chat and a helpful bot on every page of your site.",
        "description": (
            "Add Kindly Chat to your website with one line and talk to visitors while they are still "
            "deciding. The bot answers common questions from your help articles and hands over to a "
            "person, with the whole conversation, when it should.\n\n"
            "Proactive messages greet visitors on pricing pages, and conversations continue by email "
            "when someone leaves."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "website": {
                    "type": "string",
                    "title": "Website address",
                    "maxLength": 200,
                    "pattern": "https?://[^\\s]+",
                },
                "agents": {"type": "integer", "title": "Agents", "minimum": 1, "maximum": 200, "default": 2},
            },
            "required": ["website"],
        },
        "tiers": [
            ("Starter", 1900, 14, ["Agents: up to 2", "Live chat widget", "Chat history: 90 days"]),
            (
                "Pro",
                5900,
                14,
                ["Agents: up to 20", "Live chat widget", "Chat history: Unlimited", "Answer bot", "Proactive messages"],
            ),
        ],
        "discounts": {},
    },
    {
        "slug": "inkwell-mail",
        "name": "Inkwell Mail",
        "category": "Marketing",
        "icon": "envelope",
        "tagline": "Email newsletters and campaigns that people look forward to.",
        "description": (
            "Write in a clean editor, pick from well-designed templates and send to the right people "
            "with segments that update themselves. Inkwell handles sign-up forms, double opt-in and "
            "unsubscribes for you.\n\n"
            "Automations welcome new subscribers, win back quiet ones and follow up after a purchase. "
            "Clear reports show opens, clicks and revenue per campaign.\n\n"
            "Sending runs on your own verified domain for the best deliverability."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "sender_domain": {
                    "type": "string",
                    "title": "Sending domain",
                    "maxLength": 100,
                    "pattern": "([a-z0-9-]+\\.)+[a-z]{2,}",
                    "description": "The domain your emails come from, e.g. news.example.com.",
                },
                "list_size": {
                    "type": "string",
                    "title": "Current list size",
                    "enum": ["Under 1,000", "1,000–10,000", "10,000–100,000", "Over 100,000"],
                },
            },
            "required": ["sender_domain"],
        },
        "tiers": [
            ("Creator", 900, 30, ["Subscribers: 1,000", "Emails per month: 10,000", "Sign-up forms"]),
            (
                "Growth",
                2900,
                30,
                ["Subscribers: 10,000", "Emails per month: Unlimited", "Sign-up forms", "Automations", "A/B testing"],
            ),
            (
                "Pro",
                7900,
                14,
                [
                    "Subscribers: 100,000",
                    "Emails per month: Unlimited",
                    "Sign-up forms",
                    "Automations",
                    "A/B testing",
                    "Revenue reports",
                    "Dedicated IP",
                ],
            ),
        ],
        "discounts": {("Growth", "quarterly"): "12.5"},
    },
    {
        "slug": "rankwise-seo",
        "name": "Rankwise SEO",
        "category": "Marketing",
        "icon": "trend",
        "tagline": "Know where you rank, why, and what to fix next.",
        "description": (
            "Rankwise tracks your keywords every day, audits your site for broken links and slow pages, "
            "and turns it all into a short list of fixes ranked by impact.\n\n"
            "Compare your visibility with competitors, spot the questions people ask in your niche, and "
            "share white-label reports with clients."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "website": {
                    "type": "string",
                    "title": "Website to track",
                    "maxLength": 200,
                    "pattern": "https?://[^\\s]+",
                },
                "competitors": {
                    "type": "integer",
                    "title": "Competitors to compare",
                    "minimum": 0,
                    "maximum": 20,
                    "default": 3,
                },
            },
            "required": ["website"],
        },
        "tiers": [
            ("Lite", 2400, 7, ["Tracked keywords: 500", "Site audits: Weekly", "Competitor tracking"]),
            (
                "Agency",
                8900,
                7,
                [
                    "Tracked keywords: 5,000",
                    "Site audits: Daily",
                    "Competitor tracking",
                    "White-label reports",
                    "Client workspaces",
                ],
            ),
        ],
        "discounts": {("Agency", "half_yearly"): "5"},
    },
    {
        "slug": "tandem-projects",
        "yearly_months": "9.6",
        "name": "Tandem Projects",
        "category": "Productivity",
        "icon": "kanban",
        "tagline": "Plan, track and ship projects with boards, timelines and docs.",
        "description": (
            "Tandem gives every project a board, a timeline and a home for its documents. Break work into "
            "tasks, assign owners and see what is blocked before the stand-up starts.\n\n"
            "Timelines show dependencies across teams, and workload views stop anyone from quietly "
            "carrying three projects at once. Integrations bring in pull requests and support tickets."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "team_name": {"type": "string", "title": "Team name", "minLength": 2, "maxLength": 80},
                "seats": {"type": "integer", "title": "Seats", "minimum": 1, "maximum": 500, "default": 10},
            },
            "required": ["team_name", "seats"],
        },
        "tiers": [
            ("Team", 800, 14, ["Members: up to 15", "Boards and lists", "Docs"]),
            (
                "Business",
                2400,
                14,
                ["Members: up to 250", "Boards and lists", "Docs", "Timelines", "Workload views", "Guest access"],
            ),
            (
                "Enterprise",
                6900,
                30,
                [
                    "Members: Unlimited",
                    "Boards and lists",
                    "Docs",
                    "Timelines",
                    "Workload views",
                    "Guest access",
                    "Single sign-on (SAML)",
                    "Audit log",
                ],
            ),
        ],
        "discounts": {},
    },
    {
        "slug": "vaultline",
        "name": "Vaultline",
        "category": "Security",
        "icon": "lock",
        "tagline": "The password manager your whole company can agree on.",
        "description": (
            "Vaultline stores passwords, keys and secure notes with end-to-end encryption and shares them "
            "with exactly the people who need them. Browser extensions fill logins in one click.\n\n"
            "Admins see weak or reused passwords across the company, enforce two-factor sign-in, and "
            "remove access in one place when someone leaves."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "company_name": {"type": "string", "title": "Company name", "minLength": 2, "maxLength": 100},
                "seats": {"type": "integer", "title": "Seats", "minimum": 1, "maximum": 500, "default": 10},
                "sso": {"type": "boolean", "title": "We will sign in with single sign-on"},
            },
            "required": ["company_name", "seats"],
        },
        "tiers": [
            ("Teams", 3900, 14, ["Shared vaults: 10", "Browser extensions", "Two-factor sign-in"]),
            (
                "Business",
                8900,
                14,
                [
                    "Shared vaults: Unlimited",
                    "Browser extensions",
                    "Two-factor sign-in",
                    "Password health reports",
                    "Admin policies",
                    "Single sign-on (SAML)",
                ],
            ),
        ],
        "discounts": {("Business", "yearly"): "20"},
    },
]
