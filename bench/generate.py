"""A synthetic national graph in the Duikou ontology, for benchmarks at scale.

    .venv/bin/python bench/generate.py --scale N [--seed S] --out DIR

writes N-Triples laid out like ``data/`` (``DIR/reference/divisions.nt`` and
``DIR/synthetic/*.nt``, plus a README saying the data are synthetic), so that
``kg build --ontology ontology --data DIR`` builds it and ``kg validate --data DIR`` checks
it against ``ontology/shapes.ttl``. ``--scale N`` aims at about N × 10,000 triples:

| scale | aims at | what |
|---:|---:|---|
| 1 | 10k | all 31 provinces, about a tenth of the prefectures and counties |
| 10 | 100k | the whole country: 31 provinces, ~340 prefectures, ~2,850 counties |
| 100 | 1M | the country, with ~26 observations per county |
| 1000 | 10M | the country, with ~270 observations per county (of 300: 12 indicators × 25 years) |

The geography is complete from scale 10 (below it, a share √(scale/10) of the
prefectures of each province and of the counties of each prefecture is kept, the divisions
of ``data/reference/divisions.csv`` first); pairings, hand-overs, exits and project
agreements follow the kept divisions; the remaining triples are yearly observations per
county and indicator (5 % of them go to project agreements). Deterministic: the same scale
and seed give byte-identical files. Written line by line (no rdflib graph in memory), in
files of at most about 400,000 triples, since ``kg build`` reads each file whole.

What is real: the 31 province codes and names, and the rows of
``data/reference/divisions.csv`` (codes, names, coordinates). Everything else — other
codes, names, coordinates, pairings, dates, figures, quotes — is synthetic and is marked so
(``dk:codeVerification``, the source documents' titles and comments).
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIVISIONS_CSV = ROOT / "data" / "reference" / "divisions.csv"

DK = "https://w3id.org/duikou/ontology#"
ID = "https://w3id.org/duikou/id/"
DIV = ID + "division/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
PROV_DERIVED = "http://www.w3.org/ns/prov#wasDerivedFrom"
QB = "http://purl.org/linked-data/cube#"
ORG = "http://www.w3.org/ns/org#"
WGS = "http://www.w3.org/2003/01/geo/wgs84_pos#"

FULL_SCALE = 10
"""From this scale on, the whole country's geography is generated."""
TRIPLES_PER_SCALE = 10_000
CHUNK_TRIPLES = 400_000
YEARS = tuple(range(2020, 1995, -1))  # 2020 … 1996: observation years, newest first
PROJECT_SHARE = 0.05

# code, Chinese name, English name, prefectures, approximate seat (lat, lon)
PROVINCES = [
    ("11", "北京市", "Beijing Municipality", 1, 39.90, 116.41),
    ("12", "天津市", "Tianjin Municipality", 1, 39.13, 117.20),
    ("13", "河北省", "Hebei Province", 11, 38.04, 114.51),
    ("14", "山西省", "Shanxi Province", 11, 37.87, 112.55),
    ("15", "内蒙古自治区", "Inner Mongolia Autonomous Region", 12, 40.84, 111.75),
    ("21", "辽宁省", "Liaoning Province", 14, 41.80, 123.43),
    ("22", "吉林省", "Jilin Province", 9, 43.82, 125.32),
    ("23", "黑龙江省", "Heilongjiang Province", 13, 45.80, 126.53),
    ("31", "上海市", "Shanghai Municipality", 1, 31.23, 121.47),
    ("32", "江苏省", "Jiangsu Province", 13, 32.06, 118.80),
    ("33", "浙江省", "Zhejiang Province", 11, 30.27, 120.15),
    ("34", "安徽省", "Anhui Province", 16, 31.82, 117.23),
    ("35", "福建省", "Fujian Province", 9, 26.07, 119.30),
    ("36", "江西省", "Jiangxi Province", 11, 28.68, 115.86),
    ("37", "山东省", "Shandong Province", 16, 36.65, 117.12),
    ("41", "河南省", "Henan Province", 17, 34.75, 113.63),
    ("42", "湖北省", "Hubei Province", 13, 30.59, 114.31),
    ("43", "湖南省", "Hunan Province", 14, 28.23, 112.94),
    ("44", "广东省", "Guangdong Province", 21, 23.13, 113.26),
    ("45", "广西壮族自治区", "Guangxi Zhuang Autonomous Region", 14, 22.82, 108.37),
    ("46", "海南省", "Hainan Province", 4, 20.04, 110.34),
    ("50", "重庆市", "Chongqing Municipality", 2, 29.56, 106.55),
    ("51", "四川省", "Sichuan Province", 21, 30.57, 104.07),
    ("52", "贵州省", "Guizhou Province", 9, 26.65, 106.63),
    ("53", "云南省", "Yunnan Province", 16, 25.04, 102.71),
    ("54", "西藏自治区", "Tibet Autonomous Region", 7, 29.65, 91.17),
    ("61", "陕西省", "Shaanxi Province", 10, 34.34, 108.94),
    ("62", "甘肃省", "Gansu Province", 14, 36.06, 103.83),
    ("63", "青海省", "Qinghai Province", 8, 36.62, 101.78),
    ("64", "宁夏回族自治区", "Ningxia Hui Autonomous Region", 5, 38.49, 106.23),
    ("65", "新疆维吾尔自治区", "Xinjiang Uygur Autonomous Region", 14, 43.83, 87.62),
]
MUNICIPALITIES = {"11", "12", "31", "50"}
EAST = ("11", "12", "21", "31", "32", "33", "35", "37", "44")
# recipient province → (first assisting province, start year); loosely after the 1996 and
# 2016 arrangements, but synthetic
RECIPIENTS = {
    "15": ("11", 1996), "22": ("33", 2018), "42": ("33", 2018), "43": ("37", 2013),
    "45": ("44", 1996), "50": ("37", 1996), "51": ("33", 1996), "52": ("33", 1996),
    "53": ("31", 1996), "54": ("11", 1996), "61": ("32", 1996), "62": ("12", 1996),
    "63": ("21", 1996), "64": ("35", 1996), "65": ("37", 1996),
}
POVERTY_SHARE = {p: 0.6 for p in RECIPIENTS} | {
    p: 0.33 for p in ("13", "14", "23", "34", "36", "41", "46")
}
POVERTY_SHARE.update({"22": 0.33, "42": 0.5, "43": 0.5})

SYLLABLES = [
    ("安", "an"), ("平", "ping"), ("宁", "ning"), ("山", "shan"), ("江", "jiang"),
    ("阳", "yang"), ("城", "cheng"), ("河", "he"), ("南", "nan"), ("北", "bei"),
    ("东", "dong"), ("西", "xi"), ("兴", "xing"), ("昌", "chang"), ("德", "de"),
    ("华", "hua"), ("庆", "qing"), ("丰", "feng"), ("和", "he"), ("泉", "quan"),
    ("源", "yuan"), ("石", "shi"), ("林", "lin"), ("水", "shui"), ("云", "yun"),
    ("黄", "huang"), ("龙", "long"), ("白", "bai"), ("新", "xin"), ("永", "yong"),
    ("清", "qing"), ("乐", "le"), ("康", "kang"), ("泰", "tai"), ("福", "fu"),
    ("长", "chang"), ("吉", "ji"), ("武", "wu"), ("文", "wen"), ("通", "tong"),
    ("桂", "gui"), ("远", "yuan"), ("明", "ming"), ("春", "chun"), ("湖", "hu"),
    ("岭", "ling"), ("峰", "feng"), ("溪", "xi"),
]

# id, Chinese label, English label, unit, kind (flow: a year's total; stock: at year end),
# magnitude range, whether it concerns the assistance (then linked to the active pairing)
INDICATORS = [
    ("fiscal-assistance-funds", "财政帮扶资金", "fiscal assistance funds", "CNY", "flow",
     (2e6, 6e7), True),
    ("social-capital-leveraged", "撬动社会资本投入", "social capital leveraged", "CNY", "flow",
     (1e6, 2e8), True),
    ("cadres-dispatched", "选派挂职党政干部", "Party and government cadres sent on secondment",
     "Persons", "flow", (2, 40), True),
    ("professionals-dispatched", "选派专业技术人才", "professional and technical personnel sent",
     "Persons", "flow", (10, 400), True),
    ("labour-transfer", "转移就业贫困劳动力", "poor labourers placed in jobs elsewhere",
     "Persons", "flow", (200, 20000), True),
    ("poverty-headcount", "贫困人口", "poor population", "Persons", "stock", (2000, 150000),
     False),
    ("poverty-incidence", "贫困发生率", "poverty incidence", "Percent", "stock", (0.5, 35.0),
     False),
    ("rural-income", "农村居民人均可支配收入", "rural per-capita disposable income", "CNY",
     "flow", (1500, 16000), False),
    ("recipient-products-sold", "销售受扶地农产品", "sales of the recipient area's farm produce",
     "CNY", "flow", (1e6, 8e7), True),
    ("assistance-projects", "帮扶项目", "assistance projects", "Items", "flow", (3, 80), True),
    ("training-attendance", "培训贫困劳动力", "training of poor labourers", "PersonTimes",
     "flow", (300, 30000), True),
    ("relocated-households", "易地扶贫搬迁", "households relocated out of poverty",
     "Households", "flow", (50, 5000), False),
]
PROJECT_KINDS = [
    ("茶叶产业", "tea industry"), ("劳务协作", "labour cooperation"),
    ("中药材基地", "medicinal-herb base"), ("产业园区", "industrial park"),
    ("电商平台", "e-commerce platform"), ("文化旅游", "culture and tourism"),
    ("教育帮扶", "education assistance"), ("医疗卫生", "health care"),
]
SOURCE_DATE = "2021-01-15"


# ---- N-Triples, written by hand --------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}
_NEEDS_ESCAPE = re.compile(r'[\\"\n\r]')


def _esc(text: str) -> str:
    return _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group()], text)


def iri(value: str) -> str:
    return f"<{value}>"


def lit(value: str, *, lang: str | None = None, dt: str | None = None) -> str:
    if lang:
        return f'"{_esc(value)}"@{lang}'
    if dt:
        return f'"{_esc(value)}"^^<{XSD}{dt}>'
    return f'"{_esc(value)}"'


P = {name: iri(uri) for name, uri in {
    "type": RDF_TYPE, "label": RDFS + "label", "comment": RDFS + "comment",
    "code": DK + "divisionCode", "partOf": DK + "partOf", "lat": WGS + "lat",
    "long": WGS + "long", "codeVerification": DK + "codeVerification",
    "npc": DK + "nationalPovertyCounty", "exitYear": DK + "exitAssessmentYear",
    "assistant": DK + "assistant", "recipient": DK + "recipient",
    "startYear": DK + "startYear", "endYear": DK + "endYear", "succeeds": DK + "succeeds",
    "yearBasis": DK + "yearBasis", "quote": DK + "quote", "derived": PROV_DERIVED,
    "county": DK + "county", "date": DK + "date", "yearInferred": DK + "yearInferred",
    "dateNote": DK + "dateNote", "announcedBy": DK + "announcedBy",
    "indicator": DK + "indicator", "value": DK + "value", "unit": DK + "unit",
    "sourceValue": DK + "sourceValue", "approximation": DK + "approximation",
    "refArea": DK + "refArea", "pairing": DK + "pairing", "periodStart": DK + "periodStart",
    "periodEnd": DK + "periodEnd", "dataSet": QB + "dataSet", "structure": QB + "structure",
    "party": DK + "party", "dcdate": DCT + "date", "title": DCT + "title",
    "publisher": DCT + "publisher", "language": DCT + "language",
    "definition": SKOS + "definition", "inScheme": SKOS + "inScheme",
    "areaServed": "https://schema.org/areaServed",
}.items()}
C = {name: iri(DK + name) for name in (
    "Country", "Province", "Prefecture", "PrefectureLevelCity", "AutonomousPrefecture",
    "County", "CountyLevelCity", "District", "Pairing", "PovertyExit", "Observation",
    "Indicator", "Agreement", "SourceDocument", "dataStructure", "Exact", "MoreThan", "AtLeast",
    "Nearly", "CNY", "Persons", "PersonTimes", "Households", "Items", "Percent",
)}
C["DataSet"] = iri(QB + "DataSet")
C["Organization"] = iri(ORG + "Organization")
C["ConceptScheme"] = iri(SKOS + "ConceptScheme")


class NTWriter:
    """Writes N-Triples lines to numbered files of about ``chunk`` triples each."""

    def __init__(self, folder: Path, stem: str, chunk: int | None = None) -> None:
        self.folder, self.stem, self.chunk = folder, stem, chunk
        self.count = 0
        self.files: list[Path] = []
        self._in_file = 0
        self._f = None
        folder.mkdir(parents=True, exist_ok=True)

    def _open(self) -> None:
        if self._f is not None:
            self._f.close()
        name = (f"{self.stem}-{len(self.files) + 1:04d}.nt" if self.chunk else
                f"{self.stem}.nt")
        path = self.folder / name
        self.files.append(path)
        self._f = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._in_file = 0

    def lines(self, subject: str, pairs: Iterable[tuple[str, str]]) -> None:
        """Write the triples of one subject (kept in one file)."""
        if self._f is None or (self.chunk and self._in_file >= self.chunk):
            self._open()
        out = [f"{subject} {p} {o} .\n" for p, o in pairs]
        self._f.write("".join(out))
        self.count += len(out)
        self._in_file += len(out)

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


# ---- the country ------------------------------------------------------------------------------

@dataclass
class Division:
    code: str
    zh: str
    en: str
    cls: str
    lat: float | None
    lon: float | None
    parent: Division | None = None
    real: bool = False
    poverty: bool | None = None
    exit_year: int | None = None
    children: list[Division] = field(default_factory=list)

    @property
    def iri(self) -> str:
        return f"<{DIV}{self.code}>"

    @property
    def province(self) -> Division:
        d = self
        while d.parent is not None and d.parent.code != "100000":
            d = d.parent
        return d


def _real_rows() -> dict[str, dict[str, str]]:
    if not DIVISIONS_CSV.exists():
        return {}
    with open(DIVISIONS_CSV, encoding="utf-8", newline="") as f:
        return {r["code"]: r for r in csv.DictReader(f) if len(r["code"]) == 6}


def _name(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    for _ in range(50):
        (a, pa), (b, pb) = rng.sample(SYLLABLES, 2)
        zh = a + b
        if zh not in taken:
            break
    taken.add(zh)
    en = pa.capitalize() + ("'" if pb[0] in "aeo" else "") + pb
    return zh, en


def _near(rng: random.Random, lat: float, lon: float, spread: float) -> tuple[float, float]:
    return (min(53.0, max(18.5, lat + rng.uniform(-spread, spread))),
            min(134.5, max(74.0, lon + rng.uniform(-spread, spread) * 1.3)))


def build_country(seed: int) -> Division:
    """The whole synthetic country (independent of the scale)."""
    rng = random.Random(f"{seed}-country")
    real = _real_rows()

    def from_row(row: dict[str, str], cls: str) -> Division:
        lat = float(row["lat"]) if row.get("lat") else None
        lon = float(row["lon"]) if row.get("lon") else None
        d = Division(row["code"], row["name_zh"], row["name_en"], row.get("dk_class") or cls,
                     lat, lon, real=True)
        if row.get("national_poverty_county"):
            d.poverty = row["national_poverty_county"] == "yes"
        if row.get("exit_assessment_year"):
            d.exit_year = int(row["exit_assessment_year"])
        return d

    china = Division("100000", "中国", "China (People's Republic of China)", "Country",
                     39.904211, 116.407394, real=True)
    for pcode, zh, en, n_pref, lat, lon in PROVINCES:
        code = pcode + "0000"
        prov = (from_row(real[code], "Province") if code in real else
                Division(code, zh, en, "Province", lat, lon, real=True))
        prov.parent = china
        china.children.append(prov)
        prov_lat, prov_lon = prov.lat or lat, prov.lon or lon
        real_prefs = sorted(c for c in real if c.startswith(pcode) and c.endswith("00")
                            and c != code)
        used = {int(c[2:4]) for c in real_prefs}
        n_pref = max(n_pref, len(real_prefs))
        n_auto = round(0.3 * n_pref) if pcode in RECIPIENTS and pcode != "50" else 0
        names: set[str] = set()
        prefectures: list[Division] = [from_row(real[c], "Prefecture") for c in real_prefs]
        city_idx, auto_idx = 1, 22
        while len(prefectures) < n_pref:
            i = len(prefectures)
            if pcode in MUNICIPALITIES:
                idx, cls = city_idx, "Prefecture"
                city_idx += 1
                zh_p = prov.zh + ("市辖区" if idx == 1 else "县")
                en_p = prov.en.replace(" Municipality", "") + (
                    " (city districts)" if idx == 1 else " (counties)")
            else:
                auto = i >= n_pref - n_auto
                if auto:
                    while auto_idx in used:
                        auto_idx += 1
                    idx, cls = auto_idx, "AutonomousPrefecture"
                    auto_idx += 1
                else:
                    while city_idx in used:
                        city_idx += 1
                    idx, cls = city_idx, "PrefectureLevelCity"
                    city_idx += 1
                nzh, nen = _name(rng, names)
                zh_p, en_p = ((nzh + "自治州", nen + " Autonomous Prefecture") if auto else
                              (nzh + "市", nen + " (prefecture-level city)"))
            used.add(idx)
            plat, plon = _near(rng, prov_lat, prov_lon, 2.0)
            prefectures.append(Division(f"{pcode}{idx:02d}00", zh_p, en_p, cls, plat, plon))
        for pref in sorted(prefectures, key=lambda d: (not d.real, d.code)):
            pref.parent = prov
            prov.children.append(pref)
            _add_counties(rng, pref, real, pcode)
    return china


def _add_counties(rng: random.Random, pref: Division, real: dict[str, dict[str, str]],
                  pcode: str) -> None:
    stem = pref.code[:4]
    real_codes = sorted(c for c in real if c.startswith(stem) and not c.endswith("00"))
    counties: list[Division] = []
    for c in real_codes:
        row = real[c]
        d = Division(c, row["name_zh"], row["name_en"], row.get("dk_class") or "County",
                     float(row["lat"]) if row["lat"] else None,
                     float(row["lon"]) if row["lon"] else None, real=True)
        if row.get("national_poverty_county"):
            d.poverty = row["national_poverty_county"] == "yes"
        if row.get("exit_assessment_year"):
            d.exit_year = int(row["exit_assessment_year"])
        counties.append(d)
    used = {int(c[4:6]) for c in real_codes}
    if pcode in MUNICIPALITIES:
        n, districts, cities = rng.randint(10, 18), 99, 0
    elif pref.cls == "AutonomousPrefecture":
        n, districts, cities = rng.randint(5, 13), 0, rng.randint(1, 2)
    else:
        n, districts, cities = rng.randint(3, 14), rng.randint(1, 4), rng.randint(0, 2)
    n = max(n, len(counties))
    names: set[str] = {d.zh[:-1] for d in counties}
    plat, plon = pref.lat or 30.0, pref.lon or 110.0
    slots = {"District": 1, "County": 21, "CountyLevelCity": 81}
    while len(counties) < n:
        i = len(counties)
        if pref.code.endswith("0200") and pcode in MUNICIPALITIES:
            cls = "County"
        elif i < districts:
            cls = "District"
        elif i >= n - cities:
            cls = "CountyLevelCity"
        else:
            cls = "County"
        idx = slots[cls] + (1 if cls == "District" else 0)
        while idx in used:
            idx += 1
        used.add(idx)
        slots[cls] = idx
        nzh, nen = _name(rng, names)
        zh, en = {
            "District": (nzh + "区", nen + " District"),
            "County": (nzh + "县", nen + " County"),
            "CountyLevelCity": (nzh + "市", nen + " City (county-level city)"),
        }[cls]
        lat, lon = _near(rng, plat, plon, 0.6)
        counties.append(Division(f"{stem}{idx:02d}", zh, en, cls, lat, lon))
    share = POVERTY_SHARE.get(pcode, 0.0)
    for d in counties:
        if not d.real and d.cls != "District" and share and rng.random() < share:
            d.poverty = True
            d.exit_year = rng.choices((2016, 2017, 2018, 2019, 2020), (10, 20, 25, 30, 15))[0]
    for d in sorted(counties, key=lambda d: (not d.real, d.code)):
        d.parent = pref
        pref.children.append(d)


def keep(country: Division, scale: float) -> list[Division]:
    """The divisions kept at ``scale``: every province, and of each province (prefecture) a
    share √(scale/10) of its prefectures (counties), real ones first; all from scale 10."""
    share = math.sqrt(min(1.0, scale / FULL_SCALE))
    kept = [country]
    for prov in country.children:
        kept.append(prov)
        prov.children = prov.children[:max(1, round(share * len(prov.children)))]
        for pref in prov.children:
            kept.append(pref)
            pref.children = pref.children[:max(1, round(share * len(pref.children)))]
            kept.extend(pref.children)
    return kept


# ---- pairings ------------------------------------------------------------------------------

@dataclass
class Pairing:
    id: str
    assistant: Division
    recipient: Division
    start: int
    end: int | None = None
    succeeds: Pairing | None = None
    basis: str | None = None

    @property
    def iri(self) -> str:
        return f"<{ID}pairing/{self.id}>"

    def active(self, year: int) -> bool:
        return self.start <= year and (self.end is None or year < self.end)


def make_pairings(country: Division, seed: int) -> list[Pairing]:
    """Province-level pairings east → west with hand-overs; for every kept prefecture of a
    recipient province a chain of city-level pairings; for some poverty counties a
    county-level pairing from 2017."""
    rng = random.Random(f"{seed}-pairings")
    provinces = {p.code[:2]: p for p in country.children}
    out: list[Pairing] = []
    for wcode, (ecode, start) in sorted(RECIPIENTS.items()):
        west = provinces[wcode]
        periods: list[tuple[str, int, int | None]] = []
        if start < 2016 and rng.random() < 0.5:
            switch = rng.choice((2010, 2013, 2016))
            other = rng.choice([e for e in EAST if e != ecode])
            periods = [(ecode, start, switch), (other, switch, None)]
        else:
            periods = [(ecode, start, None)]
        prev = None
        for east_code, s, e in periods:
            east = provinces[east_code]
            p = Pairing(f"syn-{east.code}-{west.code}-{s}", east, west, s, e, prev)
            out.append(p)
            prev = p
        for pref in west.children:
            prev = None
            for east_code, s, e in periods:
                cities = provinces[east_code].children
                year = s
                if prev is None and s == 1996:
                    year = rng.choice((1996, 1996, 1997, 1999, 2002))
                while True:
                    city = rng.choice(cities)
                    handover = (rng.choice(range(year + 3, (e or 2021) - 1))
                                if (e or 2021) - year > 6 and rng.random() < 0.3 else None)
                    end = handover or e
                    p = Pairing(f"syn-{city.code}-{pref.code}-{year}", city, pref, year, end,
                                prev)
                    if s == 2018 and prev is None:
                        p.basis = "startYear from “2018年新一轮东西部扶贫协作开展以来” (synthetic)"
                    out.append(p)
                    prev = p
                    if handover is None:
                        break
                    year = handover
                if e is None:
                    break
            current = prev
            for county in pref.children:
                if county.poverty and current is not None and rng.random() < 0.5:
                    districts = current.assistant.children
                    if districts:
                        helper = rng.choice(districts)
                        y = max(current.start, rng.choice((2017, 2018)))
                        out.append(Pairing(f"syn-{helper.code}-{county.code}-{y}", helper,
                                           county, y))
    return out


# ---- the writer --------------------------------------------------------------------------------

def _coord(x: float) -> str:
    return lit(f"{x:.6f}", dt="decimal")


def _gyear(y: int) -> str:
    return lit(str(y), dt="gYear")


def write_divisions(w: NTWriter, kept: list[Division]) -> None:
    for d in kept:
        pairs = [(P["type"], C[d.cls]), (P["code"], lit(d.code)),
                 (P["label"], lit(d.zh, lang="zh")), (P["label"], lit(d.en, lang="en"))]
        if d.parent is not None:
            pairs.append((P["partOf"], d.parent.iri))
        if d.lat is not None and d.lon is not None:
            pairs += [(P["lat"], _coord(d.lat)), (P["long"], _coord(d.lon))]
        pairs.append((P["codeVerification"], lit(
            "real: code and name from data/reference/divisions.csv" if d.real else
            "SYNTHETIC: generated by bench/generate.py; not a real division")))
        if d.poverty is not None:
            pairs.append((P["npc"], lit("true" if d.poverty else "false", dt="boolean")))
        if d.exit_year is not None:
            pairs.append((P["exitYear"], _gyear(d.exit_year)))
        w.lines(d.iri, pairs)


def source_iri(prov_code: str) -> str:
    return f"<{ID}source/synthetic-report-{prov_code[:2]}>"


DATASET = f"<{ID}dataset/synthetic-national>"
PUBLISHER = f"<{ID}org/synthetic-data-generator>"


def gov_iri(prov: Division) -> str:
    return f"<{ID}org/synthetic-government-{prov.code[:2]}>"


def write_sources(w: NTWriter, country: Division, scale: float, seed: int) -> None:
    w.lines(PUBLISHER, [
        (P["type"], C["Organization"]),
        (P["label"], lit("合成数据生成器（bench/generate.py）", lang="zh")),
        (P["label"], lit("synthetic data generator (bench/generate.py)", lang="en")),
        (P["comment"], lit("Not a real body: the publisher of the synthetic benchmark data.",
                           lang="en")),
    ])
    note = (f"SYNTHETIC benchmark data generated by bench/generate.py (scale {scale:g}, "
            f"seed {seed}). Apart from the province codes and names and the rows of "
            "data/reference/divisions.csv, every code, name, coordinate, pairing, date, figure "
            "and quote is invented. Do not use as facts.")
    for prov in country.children:
        w.lines(source_iri(prov.code), [
            (P["type"], C["SourceDocument"]),
            (P["title"], lit(f"{prov.zh}东西部扶贫协作年度报告（合成数据，非真实）", lang="zh")),
            (P["label"], lit(f"{prov.zh}东西部扶贫协作年度报告（合成数据）", lang="zh")),
            (P["label"], lit(f"Synthetic yearly report on east–west cooperation: {prov.en}",
                             lang="en")),
            (P["publisher"], PUBLISHER),
            (P["language"], lit("zh")),
            (P["dcdate"], lit(SOURCE_DATE, dt="date")),
            (P["comment"], lit(note, lang="en")),
        ])
        w.lines(gov_iri(prov), [
            (P["type"], C["Organization"]),
            (P["label"], lit(f"{prov.zh}人民政府（合成）", lang="zh")),
            (P["label"], lit(f"People's Government of {prov.en} (synthetic record)", lang="en")),
            (P["areaServed"], prov.iri),
        ])
    w.lines(DATASET, [
        (P["type"], C["DataSet"]),
        (P["structure"], C["dataStructure"]),
        (P["label"], lit("合成的全国对口帮扶统计数字", lang="zh")),
        (P["label"], lit("Synthetic national figures of paired assistance", lang="en")),
        (P["comment"], lit(note, lang="en")),
        (P["derived"], source_iri("11")),
    ])
    scheme = f"<{ID}indicator>"
    w.lines(scheme, [(P["type"], C["ConceptScheme"]),
                     (P["label"], lit("Indicators", lang="en")),
                     (P["label"], lit("指标", lang="zh"))])
    for ind_id, zh, en, unit, kind, _, _ in INDICATORS:
        w.lines(f"<{ID}indicator/{ind_id}>", [
            (P["type"], C["Indicator"]),
            (P["label"], lit(zh, lang="zh")), (P["label"], lit(en, lang="en")),
            (P["definition"], lit(f"{en} ({kind}, {unit}); refArea is the county.", lang="en")),
            (P["inScheme"], scheme),
        ])


def write_pairings(w: NTWriter, pairings: list[Pairing]) -> None:
    for p in pairings:
        a, r = p.assistant, p.recipient
        if p.succeeds is not None:
            quote = (f"{p.start}年,{a.zh}接过{p.succeeds.assistant.zh}的接力棒,"
                     f"对口帮扶{r.province.zh if r.province is not r else ''}{r.zh}。")
        else:
            quote = f"{p.start}年起,{a.zh}对口帮扶{r.zh}。"
        pairs = [
            (P["type"], C["Pairing"]),
            (P["assistant"], a.iri), (P["recipient"], r.iri),
            (P["startYear"], _gyear(p.start)),
        ]
        if p.end is not None:
            pairs.append((P["endYear"], _gyear(p.end)))
        if p.succeeds is not None:
            pairs.append((P["succeeds"], p.succeeds.iri))
        if p.basis:
            pairs.append((P["yearBasis"], lit(p.basis, lang="en")))
        pairs += [
            (P["label"], lit(f"{a.zh}对口帮扶{r.zh}", lang="zh")),
            (P["label"], lit(f"{a.en} assists {r.en}", lang="en")),
            (P["quote"], lit(quote, lang="zh")),
            (P["derived"], source_iri(r.province.code)),
        ]
        w.lines(p.iri, pairs)


def write_exits(w: NTWriter, kept: list[Division], seed: int) -> None:
    rng = random.Random(f"{seed}-exits")
    for d in kept:
        if not d.poverty or d.exit_year is None:
            continue
        y = d.exit_year
        if y == 2020:
            date = f"2020-11-{rng.randint(14, 23):02d}"
        else:
            date = f"{y + 1}-{rng.randint(2, 5):02d}-{rng.randint(1, 28):02d}"
        inferred = rng.random() < 0.2
        prov = d.province
        month, day = int(date[5:7]), int(date[8:10])
        when = f"{month}月{day}日" if inferred else f"{date[:4]}年{month}月{day}日"
        pairs = [
            (P["type"], C["PovertyExit"]), (P["county"], d.iri),
            (P["date"], lit(date, dt="date")),
            (P["yearInferred"], lit("true" if inferred else "false", dt="boolean")),
        ]
        if inferred:
            pairs.append((P["dateNote"], lit(
                f"The synthetic report gives “{month}月{day}日” without a year; "
                f"{date[:4]} inferred from the assessment batch {y}.", lang="en")))
        pairs += [
            (P["announcedBy"], gov_iri(prov)),
            (P["label"], lit(f"{d.zh}退出贫困县序列（{date}）", lang="zh")),
            (P["label"], lit(f"{d.en} leaves the poverty-county list ({date})", lang="en")),
            (P["quote"], lit(f"{when},{prov.zh}人民政府批准{d.zh}退出贫困县序列。", lang="zh")),
            (P["derived"], source_iri(prov.code)),
        ]
        w.lines(f"<{ID}exit/syn-{d.code}-{y}>", pairs)


def write_projects(w: NTWriter, pairings: list[Pairing], n: int, seed: int) -> None:
    """``n`` cooperation-project agreements (dk:Agreement), spread over the city- and
    county-level pairings."""
    local = [p for p in pairings if not p.recipient.code.endswith("0000")]
    if not local or n <= 0:
        return
    rng = random.Random(f"{seed}-projects")
    for i, p in enumerate(local):
        k = n // len(local) + (1 if i < n % len(local) else 0)
        last = (p.end - 1) if p.end is not None else 2020
        for j in range(k):
            year = rng.randint(p.start, max(p.start, last))
            kind_zh, kind_en = rng.choice(PROJECT_KINDS)
            a, r = p.assistant, p.recipient
            w.lines(f"<{ID}agreement/{p.id}-p{j + 1}>", [
                (P["type"], C["Agreement"]),
                (P["label"], lit(f"{a.zh}与{r.zh}{kind_zh}合作项目协议（{year}）", lang="zh")),
                (P["label"], lit(f"{kind_en} project agreement of {a.en} and {r.en} ({year})",
                                 lang="en")),
                (P["party"], a.iri), (P["party"], r.iri), (P["pairing"], p.iri),
                (P["dcdate"], _gyear(year)),
                (P["quote"], lit(f"{year}年,{a.zh}与{r.zh}签订{kind_zh}合作项目协议。",
                                 lang="zh")),
                (P["derived"], source_iri(r.province.code)),
            ])


# ---- figures ---------------------------------------------------------------------------------

def _wording(rng: random.Random, unit: str, x: float) -> tuple[str, str, str]:
    """(value in base units, source wording, approximation) for a true figure ``x``."""
    roll = rng.random()
    approx = ("Exact" if roll < 0.8 else "MoreThan" if roll < 0.9 else
              "AtLeast" if roll < 0.95 else "Nearly")
    if unit == "Percent":
        n = Decimal(f"{x:.1f}")
        text = {"Exact": f"{n}%", "MoreThan": f"超过{n}%", "AtLeast": f"{n}%以上",
                "Nearly": f"近{n}%"}[approx]
        return format(n, "f"), text, approx
    if unit == "CNY":
        if x < 1e5:  # per-capita amounts in yuan
            n = Decimal(int(x))
            mult, word = Decimal(1), "元"
        elif x >= 1e8:
            n, mult, word = Decimal(f"{x / 1e8:.2f}"), Decimal(10) ** 8, "亿元"
        else:
            n, mult, word = Decimal(f"{x / 1e4:.2f}"), Decimal(10) ** 4, "万元"
        if approx != "Exact":
            n = Decimal(int(n))
            if approx == "MoreThan" and n >= 10:
                n = (n // 10) * 10
        text = {"Exact": f"{n}{word}", "MoreThan": f"{n}多{word}", "AtLeast": f"{n}{word}以上",
                "Nearly": f"近{n}{word}"}[approx]
        return format((n * mult).normalize(), "f"), text, approx
    word = {"Persons": "人", "PersonTimes": "人次", "Households": "户", "Items": "个"}[unit]
    n = max(1, int(x))
    if n >= 20000 and unit == "Persons" and approx == "Exact":
        wan = Decimal(f"{n / 1e4:.2f}")
        return format((wan * 10000).normalize(), "f"), f"{wan}万{word}", approx
    if approx == "MoreThan" and n >= 20:
        n = (n // 10) * 10
        return str(n), f"{n}{rng.choice('多余')}{word}", approx
    text = {"Exact": f"{n}{word}", "MoreThan": f"超过{n}{word}", "AtLeast": f"{n}{word}以上",
            "Nearly": f"近{n}{word}"}[approx]
    return str(n), text, approx


def write_observations(w: NTWriter, counties: list[Division], pairings: list[Pairing],
                       n_obs: int, seed: int) -> None:
    """``n_obs`` observations spread evenly over ``counties``: each county gets the first
    k of (year, indicator) for years 2020 … 1996 and the twelve indicators."""
    by_recipient: dict[str, list[Pairing]] = {}
    for p in pairings:
        by_recipient.setdefault(p.recipient.code, []).append(p)
    grid = [(y, ind) for y in YEARS for ind in INDICATORS]
    ind_iri = {ind[0]: f"<{ID}indicator/{ind[0]}>" for ind in INDICATORS}
    obs_type, dataset = C["Observation"], DATASET
    for i, county in enumerate(counties):
        k = n_obs // len(counties) + (1 if i < n_obs % len(counties) else 0)
        if not k:
            continue
        rng = random.Random(f"{seed}-obs-{county.code}")
        pref, prov = county.parent, county.province
        src = source_iri(prov.code)
        chain = by_recipient.get(county.code, []) + by_recipient.get(pref.code, [])
        size = rng.uniform(0.4, 1.6)
        place = prov.zh + county.zh
        for year, (ind_id, zh, _en, unit, kind, (lo, hi), assisted) in grid[:k]:
            age = 2020 - year
            if ind_id == "rural-income":
                x = lo + (hi - lo) * size / 1.6 * 1.07 ** -age
            elif ind_id in ("poverty-headcount", "poverty-incidence"):
                x = lo + (hi - lo) * size / 1.6 * min(1.0, 0.15 + age / 12)
            else:
                x = rng.uniform(lo, hi) * size
            value, text, approx = _wording(rng, unit, x)
            pairs = [
                (P["type"], obs_type), (P["indicator"], ind_iri[ind_id]),
                (P["value"], lit(value, dt="decimal")), (P["unit"], C[unit]),
                (P["sourceValue"], lit(text)), (P["approximation"], C[approx]),
                (P["refArea"], county.iri),
            ]
            if kind == "flow":
                pairs.append((P["periodStart"], lit(f"{year}-01-01", dt="date")))
            pairs += [
                (P["periodEnd"], lit(f"{year}-12-31", dt="date")),
                (P["quote"], lit(
                    f"{year}年{'底' if kind == 'stock' else ''},{place}{zh}{text}。", lang="zh")),
                (P["dataSet"], dataset), (P["derived"], src),
            ]
            if assisted:
                pairs += [(P["pairing"], p.iri) for p in chain if p.active(year)][:1]
            w.lines(f"<{ID}observation/syn-{county.code}-{ind_id}-{year}>", pairs)


# ---- main ------------------------------------------------------------------------------------

README = """# Synthetic benchmark data — NOT REAL

Generated by `bench/generate.py --scale {scale:g} --seed {seed}` for benchmarks of Duikou KG.
Only the 31 province codes and names and the rows reused from `data/reference/divisions.csv`
are real; every other code, name, coordinate, pairing, date, figure and quote is invented.
Build it with `kg build --ontology ontology --data DIR` (DIR: this folder).

| file | triples |
|---|---:|
{rows}
"""


def generate(scale: float, seed: int, out: Path) -> dict[str, int]:
    """Write the data set; returns triples per file (relative paths)."""
    if scale <= 0:
        raise ValueError("--scale must be positive")
    target = round(scale * TRIPLES_PER_SCALE)
    for old in [*out.glob("reference/divisions.nt"), *out.glob("synthetic/*.nt")]:
        old.unlink()
    country = build_country(seed)
    kept = keep(country, scale)
    pairings = make_pairings(country, seed)
    counts: dict[str, int] = {}

    def done(w: NTWriter) -> None:
        w.close()
        counts[str(w.files[0].relative_to(out)) if len(w.files) == 1 else
               f"{w.folder.relative_to(out)}/{w.stem}-*.nt ({len(w.files)} files)"] = w.count

    w = NTWriter(out / "reference", "divisions")
    write_divisions(w, kept)
    done(w)
    syn = out / "synthetic"
    for stem, fill in (
        ("sources", lambda w: write_sources(w, country, scale, seed)),
        ("pairings", lambda w: write_pairings(w, pairings)),
        ("exits", lambda w: write_exits(w, kept, seed)),
    ):
        w = NTWriter(syn, stem)
        fill(w)
        done(w)
    remaining = max(0, target - sum(counts.values()))
    n_projects = round(remaining * PROJECT_SHARE / 10)
    w = NTWriter(syn, "projects")
    write_projects(w, pairings, n_projects, seed)
    if w.count:
        done(w)
    else:
        w.close()
    counties = [d for d in kept if len(d.code) == 6 and not d.code.endswith("00")]
    n_obs = max(0, round((target - sum(counts.values())) / 12.18))
    most = len(counties) * len(YEARS) * len(INDICATORS)
    if n_obs > most:
        print(f"warning: scale {scale:g} wants {n_obs:,} observations; the grid holds "
              f"{most:,} (12 indicators × 25 years × {len(counties):,} counties)",
              file=sys.stderr)
        n_obs = most
    w = NTWriter(syn, "observations", chunk=CHUNK_TRIPLES)
    write_observations(w, counties, pairings, n_obs, seed)
    if w.count:
        done(w)
    else:
        w.close()
    rows = "\n".join(f"| `{name}` | {n:,} |" for name, n in counts.items())
    rows += f"\n| **total** | **{sum(counts.values()):,}** |"
    (out / "README.md").write_text(README.format(scale=scale, seed=seed, rows=rows),
                                   encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, required=True,
                        help="about SCALE × 10,000 triples (1 ≈ 10k, 10 ≈ 100k, 100 ≈ 1M, "
                             "1000 ≈ 10M)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = generate(args.scale, args.seed, args.out)
    seconds = time.perf_counter() - started
    size = sum(f.stat().st_size for f in args.out.rglob("*.nt"))
    print(f"| scale | seed | triples | files | MB | seconds |\n|---:|---:|---:|---:|---:|---:|\n"
          f"| {args.scale:g} | {args.seed} | {sum(counts.values()):,} | "
          f"{len(list(args.out.rglob('*.nt')))} | {size / 1e6:.1f} | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
