"""English word tables for query understanding: every language-specific word lives here.

The recognisers of the parser (``dates.py``, ``clock.py``, ``semantic.py``, ``places.py``), ``questions.py``,
``keyvalue.py`` and ``gazetteer.py`` read these tables through ``parse.LANGUAGES["en"]`` (this module), so adding
a language is writing one more module with the same names (``lang_xx.py``) and registering it there.
Regular-expression fragments are written for ``re.IGNORECASE`` matching over text in which curly quotes have been
folded to ASCII quotes.

Sources: hour ranges of part-of-day phrases follow docs/lsc-format.md ("Part of day"); the entries marked
*extension* are not in that table and were added for phrases found in real LSC topics.
"""

from __future__ import annotations

MONTHS: dict[str, int] = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
}
# Abbreviations count only next to a day number or a year ("18th Sept", "Aug 2019"): alone they are words.
MONTH_ABBREVIATIONS: dict[str, int] = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
}
# Month names that are also ordinary words: they count only in a date context (after a preposition such as
# "in"/"of"/"during", next to a day or a year): "May I see the red car", "March of the penguins".
AMBIGUOUS_MONTHS = frozenset({"may", "march"})
MONTH_CONTEXT_BEFORE = r"(?:in|of|during|since|until|till|by|early|late|mid|last|next|this|every|through|throughout|from|to|and|or|between|before|after|on)"

WEEKDAYS: dict[str, str] = {
    "monday": "Mon", "tuesday": "Tue", "wednesday": "Wed", "thursday": "Thu", "friday": "Fri",
    "saturday": "Sat", "sunday": "Sun",
}
# A weekday name right after one of these words is part of an event name, not a day of the week.
WEEKDAY_NAME_PREFIXES = frozenset({"black", "cyber", "blue", "good", "holy", "ash", "easter", "palm", "super",
                                   "shrove", "maundy", "girl", "man", "whit"})
WEEKEND_WORDS = r"week-?ends?"
WEEKDAY_WORDS = r"week-?days?|work-?days?|working days?"

ORDINALS: dict[str, int] = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5,
    "5th": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
    "last": -1, "final": -1,
}
NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}

# Parts of a month: phrase before the month name -> (first day, last day); -1 = the month's last day.
MONTH_PARTS: list[tuple[str, tuple[int, int]]] = [
    (r"(?:the\s+)?(?:early|beginning of|start of|the start of|the beginning of)", (1, 10)),
    (r"(?:the\s+)?(?:mid-?|middle of|the middle of|mid)", (11, 20)),
    (r"(?:the\s+)?(?:late|end of|the end of)", (21, -1)),
]

# Seasons (northern hemisphere): name -> months. With a year, "summer of 2018" = 2018-06-01..2018-08-31; winter
# of Y = December Y .. February Y+1.
SEASONS: dict[str, tuple[int, ...]] = {
    "spring": (3, 4, 5), "summer": (6, 7, 8), "summertime": (6, 7, 8), "autumn": (9, 10, 11), "fall": (9, 10, 11),
    "winter": (12, 1, 2), "wintertime": (12, 1, 2),
}
# Season words that are also ordinary words need "in (the)" / "of" / a year: "spring water", "a fall".
AMBIGUOUS_SEASONS = frozenset({"spring", "fall"})
SEASON_SKIP_BEFORE = r"(?:year'?s|what|which)\s*$"  # "which year's summer" asks for the season; no constraint

# Named days: phrase -> ("fixed", month, day) or ("holiday", country, holidays-library name, offset days).
# Movable days are looked up in the `holidays` package for the year; without a year only their usual months count.
NAMED_DAYS: dict[str, tuple] = {
    r"christmas\s+eve": ("fixed", 12, 24),
    r"christmas(?:\s+day)?|xmas(?:\s+day)?": ("fixed", 12, 25),
    r"new\s+year'?s\s+eve|nye": ("fixed", 12, 31),
    r"new\s+year'?s(?:\s+day)?": ("fixed", 1, 1),
    r"(?:st\.?|saint)\s+patrick'?s\s+day|paddy'?s\s+day|patrick'?s\s+day": ("holiday", "IE", "Saint Patrick's Day", 0),
    r"(?:st\.?|saint)\s+stephen'?s\s+day|boxing\s+day": ("fixed", 12, 26),
    r"halloween|hallowe'en": ("fixed", 10, 31),
    r"valentine'?s(?:\s+day)?": ("fixed", 2, 14),
    r"good\s+friday": ("holiday", "GB", "Good Friday", 0),
    r"easter\s+monday": ("holiday", "IE", "Easter Monday", 0),
    r"easter(?:\s+sunday|\s+day)?": ("holiday", "IE", "Easter Monday", -1),
    r"thanksgiving(?:\s+day)?": ("holiday", "US", "Thanksgiving", 0),
}
NAMED_DAY_MONTHS_WITHOUT_YEAR: dict[str, tuple[int, ...]] = {  # usual months of movable days
    "Good Friday": (3, 4), "Easter Monday": (3, 4), "Thanksgiving": (11,), "Saint Patrick's Day": (3,),
}
# A bare festival name ("Christmas") is a date only in a date context; these nouns after it make it an object.
NAMED_DAY_OBJECT_NOUNS = r"(?:trees?|cards?|jumpers?|sweaters?|decorations?|lights?|markets?|presents?|gifts?|" \
                         r"eggs?|bunny|bunnies|hats?|crackers?|stockings?|pudding|cake|songs?|carols?|films?|movies?|ornaments?|wreaths?|baubles?)"
NAMED_DAY_CONTEXT_BEFORE = r"(?:on|at|for|over|during|before|after|around|since|until|till|this|last|next|of|the|by)"
DAY_BEFORE_AFTER = r"the\s+day\s+(before|after)\s+"

# Part-of-day phrases -> hour range [from, to) in local time; a `to` past 24 means the next morning.
# Order matters: longer phrases first. Kind "part" = a part of day, "meal" = a meal time.
PARTS_OF_DAY: list[tuple[str, tuple[int, int], str]] = [
    (r"early\s+(?:on\s+(?:a|the)\s+\w+day\s+)?morning|early\s+in\s+the\s+morning", (5, 8), "part"),
    (r"late\s+in\s+the\s+afternoon", (15, 18), "part"),
    (r"late\s+in\s+the\s+morning", (10, 12), "part"),
    (r"late\s+morning", (10, 12), "part"),
    (r"early\s+afternoon", (12, 15), "part"),  # extension: LSC'19 topic 2 label
    (r"late\s+afternoon", (15, 18), "part"),
    (r"(?:late\s+at\s+)?night(?:\s*-?\s*time)?", (21, 29), "part"),
    (r"morning(?:\s*-?\s*time)?|mornings", (5, 12), "part"),
    (r"afternoon(?:\s*-?\s*time)?|afternoons", (12, 18), "part"),
    (r"evening(?:\s*-?\s*time)?|evenings", (17, 22), "part"),
    (r"noon|midday|mid-day", (11, 14), "part"),
    (r"breakfast(?:\s*-?\s*time)?", (6, 10), "meal"),
    (r"lunch(?:\s*-?\s*time)?|lunchtime", (11, 14), "meal"),
    (r"dinner(?:\s*-?\s*time)?|supper|dinnertime", (17, 22), "meal"),
]
# A part-of-day word is not a constraint after these words ("not in the morning") ...
NEGATION_BEFORE = r"(?:\bnot|\bnever|n't|\bno|\bwithout)(?:\s+\w+){0,2}\s*$"
# ... and a meal is not the moment when it is the destination or already over.
MEAL_SKIP_BEFORE = r"(?:\bway\s+to|\bafter\s+having|\bafter\s+eating|\bbefore\s+having|\bbefore\s+eating)(?:\s+\w+){0,2}\s*$"
# A sentence opening with these describes a later moment: its parts of day are not the moment's.
LATER_SENTENCE_OPENERS = r"^\s*(?:afterwards|after\s+that|later\s+on|later)\b"

CLOCK_MERIDIEM = r"(?:a\.?m\.?|p\.?m\.?|o'?clock)"
CLOCK_AROUND = r"(?:around|about|approximately|approx\.?|roughly|at|circa|~)"
CLOCK_BEFORE = r"(?:before|by|until|till|earlier\s+than)"
CLOCK_AFTER = r"(?:after|later\s+than|from)"
CLOCK_BETWEEN = (r"between", r"and")
CLOCK_FROM_TO = (r"from", r"(?:to|until|till|-)")
NOON, MIDNIGHT = r"noon|midday", r"midnight"
CLOCK_DAYPART_AFTER = {"morning": "am", "afternoon": "pm", "evening": "pm", "night": "pm"}

# Semantic places: label -> phrases. A phrase does not count after a word that makes it a destination, an origin
# or a neighbourhood ("drove home", "from my home", "near my house") or negates it ("not in my home").
SEMANTIC_PLACES: dict[str, str] = {
    "home": r"at\s+home|my\s+(?:home|house|garden|back\s+garden|kitchen|bedroom|living\s+room|sitting\s+room|"
            r"apartment|flat|bathroom)",
    "work": r"at\s+work|my\s+(?:office|desk|workplace|work\s*place)|(?:in|at)\s+the\s+office",
}
SEMANTIC_SKIP_BEFORE = (r"(?:\bfrom|\bnear|\bnearby|\bclose\s+to|\bnext\s+to|\btowards?|\bback\s+to|\bback|\bway\s+to|"
                        r"\bnot(?:\s+in|\s+at)?|\bleft|\bleaving|\b(?:drove|drive|driving|went|go|going|walked|walk|"
                        r"walking|ran|headed|heading|returned|returning|got)\s+(?:back\s+)?to)\s*$")

# Places: prepositions that introduce a place; words that make a preceding capitalised place part of a longer
# geographic name (kept: "Dublin Airport") versus any other capitalised word (a person or venue: "Paris Hilton").
PLACE_PREPOSITIONS = frozenset({"in", "at", "to", "near", "from", "around", "visit", "visited", "visiting",
                                "into", "through", "across", "outside", "inside", "towards", "toward", "of", "via"})
# Places a one-word small name (cities1000 locality or region) may follow: "in Howth", not "at McDonald".
SMALL_PLACE_PREPOSITIONS = frozenset({"in", "to", "near", "around", "visit", "visited", "visiting", "into",
                                      "towards", "toward"})
# In all-lower-case text a city not right after a place preposition needs this population ("dublin in august").
LOWERCASE_CITY_MIN_POPULATION = 500_000
GEO_TYPE_WORDS = frozenset({"airport", "station", "railway", "city", "university", "port", "harbour", "harbor",
                            "central", "county", "centre", "center", "bay", "airport's", "international",
                            "docklands", "castle", "cathedral", "zoo", "metro", "underground", "bus", "train"})
VENUE_NOUNS = frozenset({"restaurant", "hotel", "bar", "pub", "cafe", "café", "shop", "store", "bank", "gallery",
                         "museum", "road", "street", "avenue", "lane", "house", "hall", "theatre", "cinema",
                         "brewery", "market", "mall", "stadium", "park", "church", "temple", "school"})
ORIGIN_WORD = "from"
ROUTE_CUES = r"\b(?:flight|flights|flew|fly|flying|plane|airplane|aeroplane|train|journey|drove|drive|driving|bus)\b"
# Gazetteer names that are ordinary English words: in a sentence-initial position, or in all-lower-case text,
# they count only right after a place preposition ("in turkey").
COMMON_WORD_PLACES = frozenset({
    "nice", "sale", "reading", "bath", "orange", "mobile", "split", "march", "may", "best", "male", "deal", "wells",
    "university", "mission", "bay", "ede", "hue", "bar", "gap", "bury", "hyde", "derby", "nancy", "florence",
    "victoria", "cork", "chester", "corona", "turkey", "china", "chad", "jordan", "georgia", "guinea", "jersey",
    "of", "as", "la", "lot", "van", "man", "batman", "eagle", "buffalo", "phoenix", "aurora", "marina", "sandy",
    "mesa", "laredo", "lima", "bristol", "salem", "temple", "union", "independence", "liberty", "concord",
    "providence", "hope", "paradise", "normal", "enterprise", "commerce", "industry", "mercedes", "santa",
    "angel", "angels", "kent", "ham", "troy", "delta", "alpha", "gloucester", "newport", "leek", "bolton",
    "marathon", "kettering", "worthing", "street", "cambridge", "oxford", "lincoln", "jackson", "austin",
    "washington", "darwin", "hamilton", "wellington", "kingston", "richmond", "clinton", "franklin", "marion",
    "warren", "milton", "florida", "moody", "pearl", "rose", "ocean", "coral", "harbour", "fort", "university park",
    "home", "us", "it", "is", "in", "on", "at", "bus", "car", "van", "camp", "park", "garden", "grove", "hall",
})

COUNTRY_ALIASES: dict[str, str] = {
    "uk": "United Kingdom", "u.k.": "United Kingdom", "britain": "United Kingdom", "great britain": "United Kingdom",
    "england": "United Kingdom", "scotland": "United Kingdom", "wales": "United Kingdom",
    "northern ireland": "United Kingdom", "usa": "United States", "u.s.a.": "United States",
    "u.s.": "United States", "united states of america": "United States", "america": "United States",
    "the states": "United States", "holland": "The Netherlands", "netherlands": "The Netherlands",
    "the netherlands": "The Netherlands", "czech republic": "Czechia", "korea": "South Korea",
    "republic of ireland": "Ireland", "eire": "Ireland", "ivory coast": "Ivory Coast", "uae": "United Arab Emirates",
    "vietnam": "Vietnam", "viet nam": "Vietnam", "burma": "Myanmar",
}
CASE_SENSITIVE_ALIASES = frozenset({"US", "UAE"})  # "us" is a pronoun: only the upper-case form is the country

# Landmarks and venues that name their city (small, hand-kept; the gazetteer has no landmarks).
LANDMARKS: dict[str, str] = {
    "eiffel tower": "Paris", "louvre": "Paris", "notre dame": "Paris", "arc de triomphe": "Paris",
    "big ben": "London", "tower bridge": "London", "buckingham palace": "London", "heathrow": "London",
    "gatwick": "London", "colosseum": "Rome", "sagrada familia": "Barcelona", "pudong": "Shanghai",
    "forbidden city": "Beijing", "statue of liberty": "New York", "times square": "New York",
    "golden gate bridge": "San Francisco", "guinness storehouse": "Dublin", "temple bar": "Dublin",
    "ha'penny bridge": "Dublin", "o'connell street": "Dublin", "grafton street": "Dublin",
    "dublin city university": "Dublin", "dcu": "Dublin", "brandenburg gate": "Berlin", "berlin wall": "Berlin",
}

# Key:value filters in the search box (the key words themselves; values are parsed in keyvalue.py).
KEY_ALIASES: dict[str, str] = {
    "city": "city", "country": "country", "region": "region", "place": "place", "semantic": "semantic",
    "tag": "tag", "tags": "tag", "collection": "collection", "date": "date", "after": "after", "before": "before",
    "weekday": "weekday", "weekdays": "weekday", "day": "weekday", "hour": "hour", "hours": "hour",
    "part": "part", "ocr": "ocr", "text": "text", "near": "near", "box": "box", "year": "year",
}
WEEKDAY_ABBREVIATIONS: dict[str, str] = {
    "mon": "Mon", "tue": "Tue", "tues": "Tue", "wed": "Wed", "thu": "Thu", "thur": "Thu", "thurs": "Thu",
    "fri": "Fri", "sat": "Sat", "sun": "Sun",
}

# Questions.
WH_WORDS = frozenset({"what", "when", "where", "which", "who", "whom", "whose", "how", "why"})
SUBJECT_PRONOUNS = frozenset({"i", "you", "we", "he", "she", "they"})
AUX_WORDS = frozenset({"was", "is", "were", "are", "did", "do", "does", "had", "has", "have", "can", "could",
                       "would", "will", "should", "am", "shall", "might"})
HOW_QUESTION_WORDS = frozenset({"many", "much", "long", "often", "far", "old", "did", "do", "does", "was", "is",
                                "were", "are", "have", "had", "can", "could", "would", "should", "will", "frequently"})
REQUEST_OPENERS = r"^\s*(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:show|find|give|get|display|bring)|" \
                  r"(?:please\s+)?show\s+me|(?:please\s+)?find|(?:may|can|could)\s+i\s+(?:please\s+)?(?:see|have|view|get)|" \
                  r"i\s+(?:want|would\s+like|'d\s+like)\s+to\s+see|let\s+me\s+see|search\s+for|look\s+for)\b"
# Imperative questions: a request for a fact, not for pictures ("Tell me the name of ...", "Find any address that
# I lived at", "Find the date when ..."); "Find the time/moment when ..." stays a known-item search.
IMPERATIVE_QUESTION = r"^\s*(?:please\s+)?(?:(?:can|could|would)\s+you\s+(?:please\s+)?tell\s+me|tell\s+me|find\s+out|" \
                      r"give\s+me|do\s+you\s+know|name|identify|list)\b|" \
                      r"^\s*(?:please\s+)?find\s+(?:the|any|all|every)\s+(?:\w+\s+)?(?:date|year|month|address(?:es)?|" \
                      r"name|day\s+of\s+the\s+week|number|brand)\b"
# Abbreviations whose dot ends no sentence ("St. Anne's Park", "Dr. Murphy").
ABBREVIATIONS = r"(?:St|Mr|Mrs|Ms|Dr|Prof|Jr|Sr|Mt|Ft|vs|etc|No|approx|e\.g|i\.e)"
EXCLAMATION_OPENERS = r"^\s*(?:what\s+(?:a|an)\b|how\s+(?:beautiful|lovely|nice|pretty|cute|great|amazing|wonderful|awful|sad|funny)\b)"

# Answer types, tried in order on the question sentence (first match wins); visual answers carry a kind.
ANSWER_TYPES: list[tuple[str, str | None, str]] = [
    ("duration", None, r"\bhow\s+long\b|\bhow\s+many\s+(?:seconds|minutes|hours|days|weeks|months|years)\b|"
                       r"\bhow\s+much\s+time\b"),
    ("counting", None, r"\bhow\s+(?:many|often|frequently)\b|\bnumber\s+of\s+times\b|\bhow\s+much\b"),
    ("location", None, r"\bname\s+of\s+the\s+(?:shop|store|restaurant|airport|hotel|temple|place|city|town|"
                       r"country|park|bar|pub|cafe|museum|university|building|station|venue|shopping\s+centre|"
                       r"shopping\s+center|street|church|car\s+shop|antiques?\s+(?:shop|store)|supermarket|mall|campus|"
                       r"centre|center|gym|cinema|venue|beach|lake|mountain|island)\b"),
    ("visual", "colour", r"\b(?:colou?rs?)\b"),
    ("time", None, r"^\s*(?:\w+\s+){0,3}?when\b|\bwhat\s+(?:date|time|year|month|day|season|week)\b|"
                   r"\b(?:what|which)\s+(?:specific|exact|particular|precise)\s+(?:date|time|year|month|day)\b|"
                   r"^\s*(?:please\s+)?(?:tell\s+me|give\s+me|find|name|identify)\s+(?:out\s+)?(?:the\s+)?"
                   r"(?:date|year|month|day|time)\b|"
                   r"\bwhich\s+(?:date|time|year|month|day|season|week)\b|\bwhat\s+specific\s+date\b|"
                   r"\bwhat\s+(?:was|is)\s+the\s+(?:date|time|year|month|day)\b|"
                   r"\bwhich\s+year'?s\b|\bday\s+of\s+the\s+week\b"),
    ("location", None, r"\bwhere\b|\b(?:what|which)\s+(?:\w+\s+)?(?:airport|hotel|store|shop|restaurant|city|"
                       r"country|county|place|town|university|building|station|street|park|venue|pub|bar|cafe|"
                       r"museum|temple|room|floor|mall|campus|centre|center|supermarket|venue|convention|gym|cinema|"
                       r"beach|address)\b|\baddress(?:es)?\b|"
                       r"^\s*(?:please\s+)?(?:tell\s+me|name|identify|give\s+me)\s+(?:the\s+)?(?:\w+\s+)?(?:airport|hotel|"
                       r"store|shop|restaurant|city|country|town|place|building|station|street|park|venue|pub|bar|"
                       r"cafe|museum|mall|campus|centre|center|supermarket)\b"),
    ("visual", "ocr", r"\b(?:airline|number|registration|plate|brand|platform|written|say|says|text|sign|label|"
                      r"title|logo|beverage)\b"),
    ("other", None, r"^\s*(?:\w+\s+){0,3}?(?:who|whom|whose|why)\b"),
    ("visual", "object", r"\b(?:what|which)\b"),
]

# --- Evidence for places (issue 18) ---
# A gazetteer city whose one-word name is also a common English word ("Cat", "Young", "Orange", "Holiday": the
# dictionary is the lower-case entries of the `english-words` package, web2 list) is a place only with evidence:
# right after one of these prepositions ("in Orange"; "of" is not one: "a piece of Orange"), named in the lifelog's
# own vocabulary, or a city of at least this population written bare and not used as a modifier ("Berlin"; not
# "Shanghai noodles").
STRONG_PLACE_PREPOSITIONS = frozenset({"in", "at", "near", "to", "around", "visit", "visited", "visiting", "into",
                                       "through", "across", "inside", "towards", "toward", "via", "from"})
BARE_COMMON_CITY_MIN_POPULATION = 1_000_000
# Words after a bare place name that do not make it a modifier ("Berlin in May", "Paris and Rome").
FUNCTION_WORDS = frozenset("""a an the and or but in on at of to for with from by as is was were be been are it its
this that these those i we you he she they my our your his her their me us them not no so if then than when while
where who which what there here up down out over under after before during since until""".split())
# Words before "of" that make the next word a place name: "the city of Cork".
GEO_OF_WORDS = frozenset({"city", "town", "village", "county", "port", "republic", "kingdom", "island", "isle",
                          "province", "state", "region", "capital"})

# Continents (GeoNames continent codes of the gazetteer's countries) and regions (their member countries, by the
# usual definition: Scandinavia = Denmark, Norway, Sweden; the Nordic countries add Finland and Iceland; Benelux;
# the Iberian Peninsula). They count only after a place preposition ("somewhere in Asia"), never as a town.
CONTINENTS: dict[str, str] = {"africa": "AF", "asia": "AS", "europe": "EU", "north america": "NA",
                              "south america": "SA", "oceania": "OC", "antarctica": "AN"}
REGIONS: dict[str, tuple[str, ...]] = {
    "scandinavia": ("Denmark", "Norway", "Sweden"),
    "the nordic countries": ("Denmark", "Finland", "Iceland", "Norway", "Sweden"),
    "nordic countries": ("Denmark", "Finland", "Iceland", "Norway", "Sweden"),
    "the benelux": ("Belgium", "Luxembourg", "The Netherlands"), "benelux": ("Belgium", "Luxembourg", "The Netherlands"),
    "the iberian peninsula": ("Portugal", "Spain"), "iberia": ("Portugal", "Spain"),
}
REGION_BEFORE = r"(?:\bin|\bacross|\baround|\bthrough|\bon|\bvisiting|\bvisited|\bto|\bthroughout)\s+(?:the\s+)?$"

# A place after these words is excluded, not a constraint ("not in Dublin", "outside of Ireland", "except Italy").
PLACE_NEGATION_BEFORE = r"(?:\bnot|\bnever|\bexcept|\bexcluding|\boutside(?:\s+of)?|\bapart\s+from|\bother\s+than)" \
                        r"(?:\s+(?:in|at|to|from|of|the))?\s*$"
# A place after these words is where the person is going, not where the moment is ("going to Shanghai", "my
# flight to Shanghai", "on my way to Galway"): listed in ``places``, no boost.
PLACE_DESTINATION_BEFORE = r"(?:\bgoing|\bto\s+go|\bflew|\bfly|\bheading|\bheaded|\bon\s+(?:my|our|the)\s+way|\bway|\bflight|\bflights|" \
                           r"\bflying|\bdriving|\btrain|\bbus|\btaxi|\bcoach|\bferry|\btrip|\bbound|\bleaving\s+for)" \
                           r"(?:\s+(?:back|home|over|out))?\s+(?:to|for)\s*$"

# A place name before these nouns names a dish, a plant or a drink, not where the moment is ("Shanghai noodles",
# "Manhattan cocktail", "Boston fern", "Brussels sprouts").
PLACE_DISH_NOUNS = r"(?:noodles|cocktails?|ferns?|sprouts|sausages?|mix|rolls?|cheesecake|buns?|pasty|pasties|" \
                   r"stew|salad|fries|fudge|cake|cream|sauce|tea|coffee|beer|wine|gin|ham|cheese)"

# Meal words used as nouns of objects ("breakfast cereal", "dinner plates"): no time.
MEAL_OBJECT_NOUNS = r"(?:cereals?|tables?|plates?|box(?:es)?|bags?|jackets?|bars?|trays?|rolls?|menus?|sets?|" \
                    r"napkins?|bowls?|knives|knife|forks?|spoons?|suits?|service|ware|dishes)"
# A meal followed by these words is a later moment ("we ate dinner after seeing the mugs").
MEAL_SKIP_AFTER = r"^\s+(?:after|afterwards|later)\b"
MEAL_LATER_BEFORE = r"\bthen\b(?:\s+\w+){0,3}\s*$"

# One-sided ranges: a date after these words bounds the moment on one side ("before St. Patrick's Day 2019").
DATE_UPPER_BEFORE = r"(?:\bbefore|\bprior\s+to|\bearlier\s+than|\buntil|\btill|\bup\s+to)\s+(?:the\s+)?$"
DATE_UPPER_INCLUSIVE = r"(?:\buntil|\btill|\bup\s+to)\s+(?:the\s+)?$"
DATE_LOWER_BEFORE = r"(?:\bafter|\bsince|\blater\s+than|\bfrom)\s+(?:the\s+)?$"
DATE_LOWER_INCLUSIVE = r"(?:\bsince|\bfrom)\s+(?:the\s+)?$"
# "Assuming that today is 1 July 2020": the reference date of relative phrases.
REFERENCE_DATE = r"\b(?:assuming|assume|suppose|supposing|given|if)\s+(?:that\s+)?today\s+(?:is|was)\s+(?:the\s+)?"
# Numbers after these words are no year ("room 2019", "platform 2017").
YEAR_SKIP_BEFORE = r"(?:\broom|\bpump|\bgate|\bplatform|\bno\.?|\bnumber|\bflight|\bbus|\broute|#|\bapartment|" \
                   r"\bunit|\bsuite|\bseat|\btable|\bbay|\baisle|\btrack|\bterminal|\bpage|\bversion|\bmodel)\s*$"
# Named seasons around a feast: (first month, first day), (last month, last day), months without a year.
# "The Christmas season": Advent to Epiphany, 1 December .. 6 January.
FEAST_SEASONS: dict[str, tuple[tuple[int, int], tuple[int, int], tuple[int, ...]]] = {
    r"(?:christmas|xmas|festive|holiday)\s+(?:season|period|holidays)": ((12, 1), (1, 6), (12,)),
}
# A day number with an ordinal suffix in another sentence narrows the one month stated ("September 2016. On the
# 27th I think"), unless a noun follows ("the 3rd floor").
ORDINAL_DAY_NOUNS = r"(?:floor|time|century|place|row|gate|platform|anniversary|birthday|year|grade|edition|round|" \
                    r"lap|stage|day\s+of)"
RELATIVE_UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month",
                  "year": "year", "years": "year"}
