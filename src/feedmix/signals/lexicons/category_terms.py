"""Generic nouns that name what a post is about when no brand does ("a jacket", "my laptop"): they vote
for a category, never make a product, and count less than a brand from the gazetteer."""

from __future__ import annotations

import re

_CATEGORY_WORDS: dict[str, str] = {
    "Electronics": (
        r"headphones? earbuds? iems? amps? amplifiers? dacs? speakers? subwoofers? receivers? tvs? television"
        r" cameras? lens(es)? dslr projectors? turntables? stereo hi-?fi monitors? cables?"
    ),
    "Computers": (
        r"laptops? pcs? desktops? computers? cpus? gpus? graphics cards? motherboards? mobo ssds? hdds? ram"
        r" psu keyboards? mice mouse builds? rigs? overclock(ing)? processors? notebooks?"
    ),
    "Phones & Tablets": r"phones? smartphones? tablets? ipads? cellphones? carriers? roms? apps?",
    "Video Games & Software": (
        r"games? gaming consoles? dlc steam sale mods? multiplayer co-?op mmo rpg fps indie game software"
        r" beta patch(es)?"
    ),
    "Apparel & Accessories": (
        r"jackets? shirts? jeans pants shoes boots sneakers dress(es)? suits? coats? watch(es)? hoodies?"
        r" sweaters? outfits? wardrobe ties? belts? wallets? bags? backpacks? chinos"
    ),
    "Health & Beauty": (
        r"skincare moisturi[sz]ers? sunscreen cleansers? makeup lipsticks? foundation mascara eyeliner"
        r" polish(es)? razors? shav(e|ing) acne serums? perfumes? cologne shampoo"
    ),
    "Home & Garden": (
        r"furniture couch(es)? sofas? mattress(es)? kitchen cookware pans? pots? knives? vacuums? garden"
        r" plants? seeds? lawn mowers? grills? appliances? fridge"
    ),
    "Tools & Hardware": (
        r"tools? drills? saws? chisels? planes? workbench(es)? lathe router sanders? multitools?"
    ),
    "Food & Beverage": (
        r"coffee espresso grinders? tea beers? wines? whisk(e)?y bourbon recipes? snacks? sauce"
        r" brew(ing)? beans"
    ),
    "Sporting Goods & Outdoors": (
        r"tents? sleeping bags? hiking boots camping gear bikes? bicycles? helmets? kayaks? fishing"
        r" running shoes guns? rifles? pistols? ammo"
    ),
    "Vehicles & Parts": r"cars? trucks? motorcycles? bikes? tires? engines? exhaust turbo sedan suv",
    "Toys & Board Games": r"board games? boardgames? toys? lego puzzles? cards? decks?",
    "Musical Instruments": (
        r"guitars? bass(es)? pedals? amps? drums? pianos? keyboards? synths? strings ukuleles?"
    ),
    "Media (books, movies, music)": (
        r"books? novels? movies? films? albums? songs? vinyl records? series season episodes? shows?"
        r" documentar(y|ies) comics?"
    ),
    "Finance & Services": (
        r"banks? credit cards? loans? insurance mortgage invest(ing|ments?)? stocks? bitcoins? isps?"
        r" internet providers? subscriptions?"
    ),
}

CATEGORY_TERMS: dict[str, re.Pattern[str]] = {
    cat: re.compile(r"\b(" + "|".join(words.split()) + r")\b", re.IGNORECASE)
    for cat, words in _CATEGORY_WORDS.items()
}
