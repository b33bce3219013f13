"""Templated reports of distinct events stay apart; one event's reports in several languages stay together.

Data: written here, not taken from anywhere. Four wire-style templates (a tram strike, a bridge
collapse, a factory fire, a two-sentence power-cut brief), each in English, German and French,
filled for fifteen cities: 60 distinct events with their own city, numbers and date. Five dates
are shared among the events, so many events of one template happen on the same day and differ
only in city and numbers (the date veto cannot part them); each city has its strike, collapse and
fire on one day, and its brief on another (briefs on that same day too measure mainly one city's
several events of a day, which the first three already show). Each event is reported in two of
the three languages (120 articles, published on the event's day) and added through
``Storyline.add`` to a fresh store. Printed: pairs of distinct events together, in all and
within each template; links called copies across events; one event's reports kept together.

    python benchmarks/templates.py [--profile fast] [--set compare.template_coverage=0.4]
"""
import argparse
import itertools
import json
import random
import tempfile
import time

from _data import overrides

from storyline.model import Article
from storyline.service import Storyline
from storyline.settings import load_settings
from storyline.store import open_store

CITIES = ["Aarhus", "Cork", "Lyon", "Graz", "Porto", "Gdansk", "Bilbao", "Utrecht", "Turin", "Leipzig",
          "Nantes", "Malmö", "Brno", "Ghent", "Seville"]
DAYS = [(2025, 2, 27), (2025, 4, 3), (2025, 6, 12), (2025, 9, 16), (2025, 11, 20)]
MONTHS = {"en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
          "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"],
          "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]}
TEMPLATES = {
    "strike": {
        "en": ("Tram strike in {city}", "{city}, {date} - Tram drivers in {city} walked off the job on {date}, halting {n} lines across the city. "
               "The union said {m} members joined the strike over pay and shift rules.\n\nCity officials urged commuters to use buses and "
               "bicycles while talks continue. A spokesman for the operator said {k} trams stayed in the depot."),
        "de": ("Straßenbahnstreik in {city}", "{city}, {date} - Die Straßenbahnfahrer in {city} haben am {date} die Arbeit niedergelegt und {n} "
               "Linien in der ganzen Stadt stillgelegt. Die Gewerkschaft teilte mit, {m} Mitglieder hätten sich wegen Lohn und Schichtregeln "
               "am Streik beteiligt.\n\nDie Stadtverwaltung rief Pendler auf, Busse und Fahrräder zu nutzen, während die Gespräche weitergehen. "
               "Ein Sprecher des Betreibers sagte, {k} Bahnen seien im Depot geblieben."),
        "fr": ("Grève des tramways à {city}", "{city}, {date} - Les conducteurs de tramway de {city} ont cessé le travail le {date}, paralysant "
               "{n} lignes dans toute la ville. Le syndicat a indiqué que {m} membres ont rejoint la grève pour les salaires et les horaires."
               "\n\nLa mairie a invité les usagers à prendre le bus ou le vélo pendant la poursuite des négociations. Un porte-parole de "
               "l'exploitant a précisé que {k} rames sont restées au dépôt.")},
    "bridge": {
        "en": ("Bridge collapse in {city}", "{city}, {date} - A road bridge over the river in {city} collapsed on {date}, injuring {n} people. "
               "Rescue teams searched the water for hours, and {m} residents were evacuated from nearby homes.\n\nEngineers will inspect "
               "the other bridges of the region this week; the bridge, built {k} years ago, had been due for repairs."),
        "de": ("Brückeneinsturz in {city}", "{city}, {date} - In {city} ist am {date} eine Straßenbrücke über den Fluss eingestürzt, {n} "
               "Menschen wurden verletzt. Rettungskräfte suchten stundenlang das Wasser ab, {m} Anwohner wurden aus nahen Häusern "
               "gebracht.\n\nIngenieure prüfen diese Woche die übrigen Brücken der Region; die vor {k} Jahren gebaute Brücke sollte "
               "ohnehin saniert werden."),
        "fr": ("Effondrement d'un pont à {city}", "{city}, {date} - Un pont routier sur le fleuve s'est effondré à {city} le {date}, "
               "blessant {n} personnes. Les secours ont fouillé l'eau pendant des heures et {m} habitants ont été évacués des maisons "
               "voisines.\n\nDes ingénieurs inspecteront cette semaine les autres ponts de la région ; le pont, construit il y a {k} ans, "
               "devait être rénové.")},
    "fire": {
        "en": ("Fire at a factory in {city}", "{city}, {date} - A fire broke out at a chemical factory in {city} on {date}. {n} firefighters "
               "fought the blaze through the night and {m} workers were taken to hospital with smoke poisoning.\n\nPolice have opened "
               "an investigation into the cause; the plant employs {k} people."),
        "de": ("Brand in einer Fabrik in {city}", "{city}, {date} - In einer Chemiefabrik in {city} ist am {date} ein Feuer ausgebrochen. "
               "{n} Feuerwehrleute bekämpften den Brand die ganze Nacht, {m} Arbeiter kamen mit Rauchvergiftung ins Krankenhaus.\n\n"
               "Die Polizei hat Ermittlungen zur Ursache aufgenommen; das Werk beschäftigt {k} Menschen."),
        "fr": ("Incendie dans une usine à {city}", "{city}, {date} - Un incendie s'est déclaré dans une usine chimique de {city} le "
               "{date}. {n} pompiers ont combattu le feu toute la nuit et {m} ouvriers ont été hospitalisés pour intoxication.\n\n"
               "La police a ouvert une enquête sur les causes ; le site emploie {k} personnes.")},
    "outage": {  # a two-sentence brief: little besides the city, the day and a number or two
        "en": ("Power cut in {city}", "{city}, {date} - A power cut left {m} homes in {city} without electricity on {date}. "
               "The grid operator said the fault was repaired after {n} hours."),
        "de": ("Stromausfall in {city}", "{city}, {date} - Ein Stromausfall hat am {date} in {city} {m} Haushalte vom Netz "
               "getrennt. Der Netzbetreiber teilte mit, der Fehler sei nach {n} Stunden behoben worden."),
        "fr": ("Panne de courant à {city}", "{city}, {date} - Une panne de courant a privé {m} foyers d'électricité à {city} "
               "le {date}. Le gestionnaire du réseau a indiqué que la panne a été réparée au bout de {n} heures.")},
}


def date_in(lang, y, m, d):
    if lang == "en":
        return f"{d} {MONTHS['en'][m - 1]} {y}"
    if lang == "de":
        return f"{d}. {MONTHS['de'][m - 1]} {y}"
    return f"{d} {MONTHS['fr'][m - 1]} {y}"


def reports():
    """(article, event) for each report: 60 events in two languages each."""
    rng = random.Random(0)
    out = []
    langs = ["en", "de", "fr"]
    for e, (kind, city) in enumerate(itertools.product(TEMPLATES, CITIES)):
        y, m, d = DAYS[(e + (kind == "outage")) % len(DAYS)]  # a brief falls on a day its city has no other event
        n, mm, k = rng.randint(3, 40), rng.randint(50, 900), rng.randint(12, 95)
        for lang in (langs[e % 3], langs[(e + 1) % 3]):
            title, body = TEMPLATES[kind][lang]
            fill = {"city": city, "date": date_in(lang, y, m, d), "n": n, "m": mm, "k": k}
            out.append((Article(f"{kind}-{city}-{lang}", body.format(**fill), title=title.format(**fill), lang=lang,
                                published=f"{y}-{m:02d}-{d:02d}"), f"{kind}-{city}"))
    return out


def main(profile, over):
    items = reports()
    event = {a.id: e for a, e in items}
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), load_settings(profile=profile, **over))
    t0 = time.perf_counter()
    report, decisions = sl.add([a for a, _ in items])
    story_of = {d.article_id: d.story_id for d in decisions}
    for d in decisions:  # follow merges to the stories that hold the articles now
        story_of.update({m: d.story_id for m in story_of if story_of[m] in {o["story"] for o in d.merged}})
    members = {}
    for aid, sid in story_of.items():
        members.setdefault(sid, []).append(aid)
    pairs = [(a, b) for a, b in itertools.combinations(sorted(story_of), 2)]
    wrong = [(a, b) for a, b in pairs if story_of[a] == story_of[b] and event[a] != event[b]]
    kept = sum(1 for a, b in pairs if story_of[a] == story_of[b] and event[a] == event[b])
    same = sum(1 for a, b in pairs if event[a] == event[b])
    copies = sum(1 for d in decisions if d.best and d.best.get("relation") in ("translation", "near-duplicate")
                 and event[d.article_id] != event[d.best["article"]])
    print(json.dumps({"profile": profile, "settings": over, "events": len(set(event.values())), "templates": len(TEMPLATES),
                      "languages": 3, "articles": report.added, "stories": len(members),
                      "stories_with_several_events": sum(1 for m in members.values() if len({event[a] for a in m}) > 1),
                      "pairs_of_distinct_events_together": len(wrong),
                      "of_which_one_template": {t: sum(1 for a, b in wrong if a.split("-")[0] == b.split("-")[0] == t)
                                                for t in TEMPLATES},
                      "links_called_copies_across_events": copies,
                      "same_event_pairs_together": f"{kept}/{same}",
                      "seconds": round(time.perf_counter() - t0, 1)}, indent=1))
    sl.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="full")
    ap.add_argument("--set", action="append", default=[], help="section.key=value (JSON value) over the settings")
    a = ap.parse_args()
    main(a.profile, overrides(a.set))
