"""The phrases that give a post's intent away, with a weight each: the rules tier sums the weights of the
patterns a post matches (title counts fully, selftext half) into one score per intent.

Written from the codebook's definitions and examples, then weighted on the dev set's tuning part.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE

INTENT_PATTERNS: dict[str, list[tuple[re.Pattern[str], float]]] = {
    "review": [
        (
            re.compile(r"\breview(ed)?\b|\bimpressions?\b|\bmy (thoughts|experience|take) (on|with)\b", _I),
            2.0,
        ),
        (
            re.compile(r"\b(after|for) (\d+|a|one|two|three|five|ten|several) (years?|months?|weeks?)\b", _I),
            1.2,
        ),
        (re.compile(r"\bstill (going|works|working|holding)\b|\bholding up\b|\bgoing strong\b", _I), 1.8),
        (re.compile(r"\b(i|just|finally) (bought|got|picked up|purchased|received|ordered)\b", _I), 1.4),
        (re.compile(r"\bmy (new|first)\b|\bnew (pickup|purchase|toy)\b|\bpick-?ups?\b|\bhaul\b", _I), 1.2),
        (re.compile(r"\b(broke|died|failed|stopped working|fell apart)\b.*\b(after|in|within)\b", _I), 1.2),
        (re.compile(r"\b(love|loving|hate|disappointed|impressed) (my|this|the|these)\b", _I), 1.0),
        (
            re.compile(r"\bwhat i'?m wearing\b|\bwaywt\b|\bunboxing\b|\bfinally arrived\b|\barrived\b", _I),
            1.2,
        ),
    ],
    "recommendation_request": [
        (re.compile(r"\blooking for\b|\bin the market for\b|\bshopping for\b", _I), 2.0),
        (re.compile(r"\b(any|need|want) (suggestions?|recommendations?|recs|advice|help)\b", _I), 1.6),
        (re.compile(r"\brecommend(ations?)?\b.*\?|\bsuggest(ions?)?\b.*\?", _I), 1.6),
        (re.compile(r"\bwhat (should|would|do) (i|you) (buy|get|use|choose|pick)\b", _I), 2.4),
        (re.compile(r"\b(which|what) \w+( \w+)? (should|to) (i )?(buy|get)\b", _I), 2.2),
        (re.compile(r"\bbest\b.*\b(for|under|budget)\b.*\?|\bbest (budget|cheap|affordable)\b", _I), 1.8),
        (re.compile(r"\bhelp (me )?(choose|choosing|find|finding|pick|picking|decide)\b", _I), 1.8),
        (re.compile(r"\bunder \$?\d+|\bbudget\b|\$\d+ (budget|range)\b", _I), 0.8),
        (re.compile(r"\bwhere (can|do|should) i (buy|find|get)\b", _I), 1.8),
        (re.compile(r"\[(build help|build ready|build complete|suggestion)\]", _I), 1.0),
    ],
    "recommendation": [
        (re.compile(r"\bpsa\b|\bprotip\b|\bpro tip\b|\blpt\b|\bheads up\b|\bfyi\b", _I), 2.0),
        (
            re.compile(
                r"\bdeals?\b|\bsale\b|\b\d+% off\b|\bdiscount\b|\bcoupon\b|\bpromo\b|\bprice drop\b", _I
            ),
            1.6,
        ),
        (
            re.compile(r"\[(deal|cpu|gpu|monitor|ssd|hdd|case|psu|ram|keyboard|mouse|prebuilt|steam)\]", _I),
            1.6,
        ),
        (re.compile(r"\$\d+(\.\d\d)?\b", _I), 0.6),
        (re.compile(r"\bfree\b|\bgiveaway\b|\bweekend deal\b|\bdaily deal\b|\bhumble\b", _I), 0.8),
        (re.compile(r"\b(don'?t|never) (buy|use|order|shop)\b|\bavoid\b|\bstay away\b|\bbeware\b", _I), 1.8),
        (
            re.compile(
                r"\b(highly )?recommend\b(?!.*\?)|\bcheck (it|this|them) out\b|\bworth (it|a look)\b", _I
            ),
            1.2,
        ),
        (re.compile(r"\byou (should|need to|have to) (try|get|buy)\b|\bmust have\b", _I), 1.4),
    ],
    "comparison": [
        (re.compile(r"\bvs\.?\b|\bversus\b|\bv\.s\.\b", _I), 2.6),
        (re.compile(r"\bcompared? (to|with)\b|\bcomparison\b|\bwhich is better\b|\bbetter than\b", _I), 1.8),
        (re.compile(r"\b(or|and) the\b.*\?$|\bor\b [^?]{1,40}\?", _I), 0.6),
        (re.compile(r"\bdifference between\b|\bside by side\b", _I), 1.8),
    ],
    "question": [
        (re.compile(r"\?\s*$|\?\s*\n", _I), 1.6),
        (
            re.compile(
                r"^\s*(how|why|what|when|where|who|is|are|does|do|did|can|could|should|would|will|has|have|"
                r"anyone|anybody|any)\b",
                _I,
            ),
            1.0,
        ),
        (
            re.compile(r"\bhelp\b|\bquestion\b|\bwhat happened\b|\bproblem\b|\bissue\b|\btroubleshoot", _I),
            0.9,
        ),
        (re.compile(r"\b(ama|ask me anything|eli5|explain like)\b|\[(q|question|help)\]", _I), 1.4),
        (re.compile(r"\bhow (do|can|to|does|should)\b", _I), 1.0),
    ],
}
