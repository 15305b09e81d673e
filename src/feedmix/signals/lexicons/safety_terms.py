"""Words that put a post into a brand-safety reason. Only unambiguous terms: a word that is usually
harmless ("shot" of espresso, "killer" deal) is left out, because an ad wrongly blocked next to a safe
post costs less than a lexicon that blocks half the feed."""

from __future__ import annotations

import re

_I = re.IGNORECASE


def _words(words: str) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(words.split()) + r")\b", _I)


SAFETY_TERMS: dict[str, re.Pattern[str]] = {
    "nsfw": _words(r"nsfw nude nudes naked porn porno topless boobs tits sex sexy blowjob fap fapping nsfl"),
    "violence": _words(
        r"gore gory murder murdered murders stabbed stabbing beheaded beheading massacre torture tortured"
        r" brutal brutally beaten beating assault assaulted executed execution lynch(ed)? shooting shootings"
    ),
    "tragedy": _words(
        r"killed died dies dead death deaths funeral suicide suicidal tragedy tragic disaster victims"
        r" earthquake tsunami hurricane tornado crash(ed)? bombing bombings terrorist terrorism rip memorial"
        r" cancer"
    ),
    "hate": _words(r"nigger niggers faggot faggots kike chink spic tranny retards? nazis? kkk"),
    "drugs": _words(
        r"weed marijuana cannabis stoned stoner ents? blaze blazed bong joints? dab dabs lsd acid shrooms"
        r" mushrooms mdma molly ecstasy cocaine coke heroin meth dmt ketamine xanax opiates? high af 420"
    ),
    "weapons": _words(
        r"guns? rifles? pistols? handguns? ar-?15 ak-?47 glock shotguns? ammo ammunition firearms?"
    ),
    "alcohol_tobacco": _words(
        r"beers? wines? whiskey whisky bourbon vodka rum tequila brew(ing|ed)? ipa stouts? drunk booze"
        r" alcohol liquor cigarettes? cigars? smoking tobacco vape vaping hookah"
    ),
    "profanity": _words(
        r"fuck fucking fucked shit shitty bullshit ass asshole bitch bitches damn dick crap wtf"
    ),
    "politics": _words(
        r"obama romney republicans? democrats? gop congress senate senator president election vote voting"
        r" abortion gun control nsa snowden war syria iran israel palestine protest protesters religion"
        r" atheists? christians? muslims? islam church government"
    ),
    "crime": _words(
        r"arrested police cops? prison jail jailed charged sentenced stolen theft robbery robbed thief"
    ),
    "health": _words(
        r"depression depressed anxiety cancer diabetes disease surgery hospital diagnosed illness therapy"
        r" pregnant pregnancy medication"
    ),
}
