"""The graph's object types. A feed is a Relay connection whose nodes are a union of ``Post`` and
``Ad``; each says ``why`` it is on the page (a post: its source, score parts and the ranker's head
predictions; an ad: its campaign, pCTR, eCPM, price and slot rule). The score parts and predictions
are JSON objects (name to value), not lists of named-value objects: their names vary with the
pipeline's scorers and heads, and as objects they cost GraphQL's executor three field completions
per value, which made up a third of a page's GraphQL cost (``feedmix bench api``)."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

FeedItem = Annotated["Post | Ad", strawberry.union("FeedItem")]


@strawberry.type(description="Why a post is on this page.")
class PostWhy:
    source: str
    score: float
    score_parts: JSON = strawberry.field(description="Each scorer's part of the score, by name.")
    predictions: JSON = strawberry.field(
        description="The ranker's head probabilities by head (empty while the heuristic ranks)."
    )


@strawberry.type(description="Why an ad is on this page: the auction and the slot rule that placed it.")
class AdWhy:
    campaign_id: str
    ad_group_id: str
    pctr: float
    ecpm: float
    price_micros: int
    auction_slot: int
    slot_rule: str


@strawberry.type
class ProductMention:
    text: str
    brand: str | None


@strawberry.type(description="A post's content signals (see GET /v1/signals for their definitions).")
class PostSignals:
    intent: str
    sentiment: str | None
    commercial: bool
    category: str | None
    brand_safety: str
    products: list[ProductMention]
    model_version: str
    tier: str

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> PostSignals:
        return cls(
            intent=r["intent"],
            sentiment=r.get("sentiment"),
            commercial=bool(r.get("commercial")),
            category=r.get("category"),
            brand_safety=r.get("brand_safety") or "unrated",
            products=[ProductMention(text=p["text"], brand=p.get("brand")) for p in r.get("products") or []],
            model_version=str(r.get("model_version") or ""),
            tier=str(r.get("tier") or ""),
        )


@strawberry.type
class Post:
    id: strawberry.ID
    title: str
    community_name: str
    created_utc: float
    age_hours: float
    post_score: int
    num_comments: int
    over_18: bool
    url: str
    permalink: str
    why: PostWhy | None = strawberry.field(description="Set when the post was served in a feed.")

    @strawberry.field(description="The community the post was made in (batched: one read per page).")
    async def community(self, info: Info) -> Community | None:
        result: Community | None = await info.context.loaders.communities.load(self.community_name)
        return result

    @strawberry.field(description="The post's content signals; null while it is not labelled.")
    async def signals(self, info: Info) -> PostSignals | None:
        result: PostSignals | None = await info.context.loaders.signals.load(str(self.id))
        return result

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Post:
        return cls(
            id=strawberry.ID(item["id"]),
            title=item["title"],
            community_name=item["community"],
            created_utc=item["created_utc"],
            age_hours=item["age_hours"],
            post_score=item["post_score"],
            num_comments=item["num_comments"],
            over_18=item["over_18"],
            url=item["url"],
            permalink=item["permalink"],
            why=PostWhy(
                source=item["source"],
                score=item["score"],
                score_parts=item["score_parts"],
                predictions=item["predictions"],
            ),
        )


@strawberry.type(description="A sponsored item: its creative and the token its events must carry.")
class Ad:
    id: strawberry.ID
    headline: str
    body: str
    call_to_action: str
    click_url: str
    image_url: str | None
    campaign_id: str
    ad_group_id: str
    ad_token: str
    #: nullable like ``Post.why``, so one query may select ``why`` on both sides of the union
    why: AdWhy | None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Ad:
        w = item["why"]
        return cls(
            id=strawberry.ID(item["id"]),
            headline=item["headline"],
            body=item["body"],
            call_to_action=item["call_to_action"],
            click_url=item["click_url"],
            image_url=item["image_url"],
            campaign_id=item["campaign_id"],
            ad_group_id=item["ad_group_id"],
            ad_token=item["ad_token"],
            why=AdWhy(
                campaign_id=w["campaign_id"],
                ad_group_id=w["ad_group_id"],
                pctr=w["pctr"],
                ecpm=w["ecpm"],
                price_micros=w["price_micros"],
                auction_slot=w["auction_slot"],
                slot_rule=w["slot_rule"],
            ),
        )


@strawberry.type
class FeedEdge:
    cursor: str = strawberry.field(
        description="Resumes after the page this item was on (feeds page by scroll session, not by item)."
    )
    position: int
    node: FeedItem


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="One page of a feed, as a Relay connection.")
class FeedConnection:
    edges: list[FeedEdge]
    page_info: PageInfo
    request_id: str
    surface: str
    coverage: float = strawberry.field(description="Share of the page's sources that answered in time.")
    degraded: bool
    failed_components: list[str]
    model_version: str | None
    suggested_communities: list[str] = strawberry.field(
        description="Communities the surface suggests joining (discovery; empty elsewhere)."
    )

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> FeedConnection:
        cursor = body["next_cursor"]
        edges = [
            FeedEdge(
                cursor=cursor or "",
                position=item["position"],
                node=Ad.from_item(item) if item["kind"] == "ad" else Post.from_item(item),
            )
            for item in body["items"]
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(has_next_page=cursor is not None, end_cursor=cursor),
            request_id=body["request_id"],
            surface=body["surface"],
            coverage=body["coverage"],
            degraded=body["degraded"],
            failed_components=list(body["failed_components"]),
            model_version=body.get("model_version"),
            suggested_communities=list(body.get("suggested_communities") or []),
        )


@strawberry.type
class Community:
    name: str
    subscribers: int
    post_count: int

    @strawberry.field(description="The community's feed, ranked for the user.")
    async def feed(
        self, info: Info, user_id: str = "anonymous", first: int = 25, after: str | None = None
    ) -> FeedConnection:
        result: FeedConnection = await info.context.feed(
            "community", user_id, first, after, community=self.name
        )
        return result


@strawberry.enum(description="Which ranking surface a feed comes from.")
class Surface(enum.Enum):
    HOME = "home"
    DISCOVERY = "discovery"


@strawberry.type(description="A viewer's feed settings; every feed they get applies them.")
class Preferences:
    allow_nsfw: bool | None = strawberry.field(description="null: the user's profile decides.")
    muted_communities: list[str] = strawberry.field(description="Never shown.")
    show_fewer: list[str] = strawberry.field(description="Shown less: their posts keep 30% of their score.")


@strawberry.type
class Viewer:
    user_id: str
    preferences: Preferences


@strawberry.input(description="What to change; a field left out keeps its value.")
class PreferencesInput:
    allow_nsfw: bool | None = strawberry.field(
        default=strawberry.UNSET, description="null: let the profile decide again."
    )
    muted_communities: list[str] | None = strawberry.UNSET
    show_fewer: list[str] | None = strawberry.UNSET


@strawberry.type
class EventsAccepted:
    accepted: int
    duplicates: int


@strawberry.type
class AdEventsAccepted:
    accepted: int
    duplicates: int
    billed_micros: int


@strawberry.enum
class AdEventType(enum.Enum):
    IMPRESSION = "impression"
    CLICK = "click"


@strawberry.input(description="An ad impression or click (as POST /v1/ads/events takes it).")
class AdEventInput:
    event_id: str = strawberry.field(description="Client-made; a retry reuses it, so it bills once.")
    type: AdEventType
    ad_token: str = strawberry.field(description="The served ad's adToken.")


@strawberry.enum
class EventType(enum.Enum):
    IMPRESSION = "impression"
    CLICK = "click"
    UPVOTE = "upvote"
    DOWNVOTE = "downvote"
    HIDE = "hide"
    COMMENT = "comment"


@strawberry.input(description="One thing a user did to one post (as POST /v1/events takes it).")
class EventInput:
    event_id: str = strawberry.field(description="Client-made; a retry reuses it, so it counts once.")
    type: EventType
    user_id: str
    post_id: str
    ts: float | None = None
    request_id: str | None = None
    position: int | None = None
    surface: str | None = None
