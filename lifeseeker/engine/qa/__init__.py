"""Question answering over the lifelog: route by answer type, answer from metadata or by VQA, with the evidence.

Flow (ARCHITECTURE.md: ``search.py`` hands questions to ``qa``):

1. **Route** (``routing.py``): the query parser (``query/parse.py``, ``query/questions.py``) says whether the text is
   a question and its coarse answer type; ``routing.py`` refines it into an answer type and a *kind*:

   =========  ==============================================================  ====================================
   type       kind                                                            answered from
   =========  ==============================================================  ====================================
   time       date, month, month_year, year, weekday, season, clock           ``local_time`` of the best events
   location   place (semantic_name, else locality, else city), city, region,  the place fields of the best events
              country; ``relation`` after/before = the next/previous place    (``Store.neighbours`` for relations)
   counting   events ("how many times", "how often"), days, nights, places    distinct matching events, days or
              ("how many different airports"), trips (going to a place),      places inside the constraints;
              photos ("how many photos did I take in Italy")                  photos: the document count (no VQA)
   duration   span, days                                                      span of the best matching event;
                                                                              distinct matching days
   visual     object, colour, ocr, count (things in view)                     BLIP VQA over the top images of the
                                                                              top events (OCR text as evidence)
   =========  ==============================================================  ====================================

   ``other`` questions of the parser (who, why, yes/no) go to VQA as ``visual/object``, except yes/no questions of
   presence ("Did I ever go to Paris?", "Have I been to Italy?": the ``ever`` shape below, ``counting/yes-no``). A "the most"/"most often"
   in a time or location question counts matching events per value and answers the most frequent value.

2. **Evidence** (``service.py``, ``context.py``): the question is searched as usual (fused score of ``search.py``:
   the CLIP text encoder gets the parser's visual remainder, the TaT encoder the full text; parsed time/place
   constraints are soft boosts, ``query/soft.py``) and the hits are grouped into time events
   (``events.group_events``). For counting, duration and "the most" questions the parsed constraints are *hard*
   (a count is "inside the constraints": dates, weekdays, countries, cities, semantic places go to the store as
   filter clauses; months without a year and hour ranges are checked on the hits).

3. **Relevance cut-off** (``evidence.py``: which evidence counts). A hit is *relevant* when

       W_IaT * iat + W_TaT * tat >= W_IaT * IAT_FLOOR + W_TaT * TAT_FLOOR      (over the query vectors present)
       and  score >= RELATIVE_CUT (0.8) x the best score among the hits passing the floor.

   The absolute floor (IAT_FLOOR 0.2 for CLIP text-image cosines; TAT_FLOOR 0.35 for MiniLM question-CapMeta
   cosines, where in the tests the asked moment scores 0.4-0.7 and unrelated ones 0.15-0.3)
   lets a count be 0 ("never") when nothing resembles the question; the relative cut keeps the moments nearly as
   good as the best one. Untuned defaults (``QaConfig``); the cut does not depend on the fusion weights' scale.

4. **Answer** by type (``metadata.py``: time, location; ``counting.py``; ``duration.py``; ``visual.py``; the
   values of documents in ``values.py``, the Answer type in ``result.py``); answers of several evidence items are
   aggregated by a **score-weighted vote**: each event (time, location) or image (visual) votes its own value with
   weight = its score (clamped to at least 1e-6); equal values (after normalising case, articles, spaces and number
   words) add up. Ties are broken by the larger number of votes, then the larger single best score, then the
   value's text in ascending order, so the outcome is deterministic. ``confidence`` = the winner's share of the
   total weight. For counting and duration, ``confidence`` = stability of the result under the cut-off: the result
   computed with both thresholds 0.05 looser and 0.05 stricter, smaller / larger (1.0 when both agree, also when
   both are 0).

   For OCR questions an image whose stored OCR text contains its VQA answer votes with double weight
   (``OCR_BONUS``), and every evidence image carries its OCR text.

**Competition shapes** (issue 19; ``shapes.py``, tried before the routes of step 1): visits, nights, trips,
flights, first / last / which date, names read by OCR, two-part colours and yes/no presence ("did I ever go to
X": Yes when the trip or stay count of X is above 0, ``ever.py``) are answered over the whole lifelog
rather than the top hits: the frames in time order are cut into **stays** (``stays.py``: same place key, at most 90
min apart; another place between two frames starts a new visit), the question's time/place **scope**
(``scope.py``: dates, venue, semantic place, country, continent, "abroad") chooses the frames, and

* ``visits.py``: visits = matching stays (at the venue, or holding a frame that resembles the concept), nights
  (last frame of a day and first of the next at the place), first / last / best matching stay's date;
* ``travel.py`` (continents from GeoNames, haversine, trips as runs of frames in the place scope) and ``trips.py``
  (flights: fixes >= 300 km apart with airport/airplane evidence or >= 400 km/h; intercontinental etc.);
* ``names.py``: OCR lines of the matching frames, normalised and voted; one VQA pass per named object.

Such answers give a DRES-friendly text (``4``; ``16 May 2020``), the rule, and ``Answer.items``: the stays, nights,
trips or flights counted (``drop=`` leaves some out); an empty scope gives ``no_match`` ("no photo matches").

Without a VQA model, metadata answers (time, location, counting, duration) still work; visual ones answer nothing
and say plainly that no VQA model is loaded, still listing the evidence images.
"""

from .context import QaConfig
from .evidence import (IAT_FLOOR, RELATIVE_CUT, TAT_FLOOR, above_floor, constraint_filters, inside_constraints,
                       normalise_answer, relevant_hits, vote_answer, weighted_vote)
from .result import Answer, CountedItem, EvidenceEvent, EvidenceImage
from .routing import ANSWER_TYPES, Route, content_words, route
from .scope import Scope, build_scope
from .shapes import Shape, detect
from .stays import Stay, nights_at, segment_stays
from .trips import Flight, flights
from .service import QaService, load_evidence_image
from .values import count_nights, count_trips, format_duration, place_value, time_value
from .visual import OCR_BONUS

__all__ = ["route", "Route", "QaService", "QaConfig", "Answer", "EvidenceEvent", "EvidenceImage",
           "weighted_vote", "vote_answer", "normalise_answer", "relevant_hits", "above_floor", "time_value",
           "place_value", "format_duration", "count_trips", "count_nights", "constraint_filters",
           "inside_constraints", "content_words", "load_evidence_image", "ANSWER_TYPES", "IAT_FLOOR", "TAT_FLOOR",
           "RELATIVE_CUT", "OCR_BONUS", "CountedItem", "Scope", "build_scope", "Shape", "detect", "Stay",
           "nights_at", "segment_stays", "Flight", "flights"]
