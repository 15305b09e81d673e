from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetFeedRequest(_message.Message):
    __slots__ = ("user_id", "surface", "limit", "cursor", "community", "params")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    COMMUNITY_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    surface: str
    limit: int
    cursor: str
    community: str
    params: _containers.ScalarMap[str, str]
    def __init__(self, user_id: _Optional[str] = ..., surface: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ..., community: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AdCreative(_message.Message):
    __slots__ = ("headline", "body", "call_to_action", "click_url", "image_url", "campaign_id", "ad_group_id", "ad_token", "pctr", "ecpm", "price_micros", "slot_rule")
    HEADLINE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CALL_TO_ACTION_FIELD_NUMBER: _ClassVar[int]
    CLICK_URL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    AD_GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    AD_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PCTR_FIELD_NUMBER: _ClassVar[int]
    ECPM_FIELD_NUMBER: _ClassVar[int]
    PRICE_MICROS_FIELD_NUMBER: _ClassVar[int]
    SLOT_RULE_FIELD_NUMBER: _ClassVar[int]
    headline: str
    body: str
    call_to_action: str
    click_url: str
    image_url: str
    campaign_id: str
    ad_group_id: str
    ad_token: str
    pctr: float
    ecpm: float
    price_micros: int
    slot_rule: str
    def __init__(self, headline: _Optional[str] = ..., body: _Optional[str] = ..., call_to_action: _Optional[str] = ..., click_url: _Optional[str] = ..., image_url: _Optional[str] = ..., campaign_id: _Optional[str] = ..., ad_group_id: _Optional[str] = ..., ad_token: _Optional[str] = ..., pctr: _Optional[float] = ..., ecpm: _Optional[float] = ..., price_micros: _Optional[int] = ..., slot_rule: _Optional[str] = ...) -> None: ...

class FeedItem(_message.Message):
    __slots__ = ("id", "kind", "position", "title", "community", "score", "source", "score_parts", "predictions", "ad")
    class ScorePartsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class PredictionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    COMMUNITY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SCORE_PARTS_FIELD_NUMBER: _ClassVar[int]
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    AD_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    position: int
    title: str
    community: str
    score: float
    source: str
    score_parts: _containers.ScalarMap[str, float]
    predictions: _containers.ScalarMap[str, float]
    ad: AdCreative
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., position: _Optional[int] = ..., title: _Optional[str] = ..., community: _Optional[str] = ..., score: _Optional[float] = ..., source: _Optional[str] = ..., score_parts: _Optional[_Mapping[str, float]] = ..., predictions: _Optional[_Mapping[str, float]] = ..., ad: _Optional[_Union[AdCreative, _Mapping]] = ...) -> None: ...

class FeedPage(_message.Message):
    __slots__ = ("request_id", "surface", "items", "next_cursor", "coverage", "degraded", "failed_components", "model_version", "suggested_communities")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    FAILED_COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_COMMUNITIES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    surface: str
    items: _containers.RepeatedCompositeFieldContainer[FeedItem]
    next_cursor: str
    coverage: float
    degraded: bool
    failed_components: _containers.RepeatedScalarFieldContainer[str]
    model_version: str
    suggested_communities: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., surface: _Optional[str] = ..., items: _Optional[_Iterable[_Union[FeedItem, _Mapping]]] = ..., next_cursor: _Optional[str] = ..., coverage: _Optional[float] = ..., degraded: _Optional[bool] = ..., failed_components: _Optional[_Iterable[str]] = ..., model_version: _Optional[str] = ..., suggested_communities: _Optional[_Iterable[str]] = ...) -> None: ...

class RankCandidatesRequest(_message.Message):
    __slots__ = ("user_id", "surface", "post_ids", "params")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    POST_IDS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    surface: str
    post_ids: _containers.RepeatedScalarFieldContainer[str]
    params: _containers.ScalarMap[str, str]
    def __init__(self, user_id: _Optional[str] = ..., surface: _Optional[str] = ..., post_ids: _Optional[_Iterable[str]] = ..., params: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RankedPost(_message.Message):
    __slots__ = ("post_id", "rank", "score", "score_parts", "predictions")
    class ScorePartsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class PredictionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    POST_ID_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SCORE_PARTS_FIELD_NUMBER: _ClassVar[int]
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    post_id: str
    rank: int
    score: float
    score_parts: _containers.ScalarMap[str, float]
    predictions: _containers.ScalarMap[str, float]
    def __init__(self, post_id: _Optional[str] = ..., rank: _Optional[int] = ..., score: _Optional[float] = ..., score_parts: _Optional[_Mapping[str, float]] = ..., predictions: _Optional[_Mapping[str, float]] = ...) -> None: ...

class RankCandidatesResponse(_message.Message):
    __slots__ = ("request_id", "posts", "unknown_post_ids", "filtered_post_ids", "coverage", "degraded", "failed_components", "model_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    POSTS_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_POST_IDS_FIELD_NUMBER: _ClassVar[int]
    FILTERED_POST_IDS_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    FAILED_COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    posts: _containers.RepeatedCompositeFieldContainer[RankedPost]
    unknown_post_ids: _containers.RepeatedScalarFieldContainer[str]
    filtered_post_ids: _containers.RepeatedScalarFieldContainer[str]
    coverage: float
    degraded: bool
    failed_components: _containers.RepeatedScalarFieldContainer[str]
    model_version: str
    def __init__(self, request_id: _Optional[str] = ..., posts: _Optional[_Iterable[_Union[RankedPost, _Mapping]]] = ..., unknown_post_ids: _Optional[_Iterable[str]] = ..., filtered_post_ids: _Optional[_Iterable[str]] = ..., coverage: _Optional[float] = ..., degraded: _Optional[bool] = ..., failed_components: _Optional[_Iterable[str]] = ..., model_version: _Optional[str] = ...) -> None: ...
