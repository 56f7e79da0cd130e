"""Scene captions in the eleven XTD10 languages, written per language (not word by word).

A scene is a *group* of one to three objects of one colour and shape placed to
the left of, right of, above or below one *reference* object of another colour
or shape. Each language has its own word order, agreement and counters:

* de: gender and case (dative after ``links von``/``über``), plural adjective endings;
* fr/it/es: noun–adjective order and plural agreement (``deux cercles rouges``);
* ru/pl: numerals 2–3 govern genitive singular nouns (ru) or nominative plural (pl),
  prepositions govern the genitive (``слева от``) or the instrumental (``над``);
* tr: the reference comes first, in the genitive, with a possessive postposition
  (``mavi bir karenin solunda``), nouns stay singular after numerals;
* ja/zh/ko: the reference and its location come first, counters (つ, 个, 개).

Each language has three paraphrase templates; `caption` picks one by index.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "de", "fr", "it", "es", "ru", "ja", "zh", "pl", "tr", "ko")
COLOURS = ("red", "blue", "green", "yellow")
SHAPES = ("circle", "square", "triangle")
RELATIONS = ("left", "right", "above", "below")
N_TEMPLATES = 3


@dataclass(frozen=True)
class Scene:
    """What an image shows and every caption describes.

    ``count`` objects of ``colour``/``shape`` stand ``relation`` (left/right/
    above/below) one ``ref_colour``/``ref_shape`` object.
    """

    count: int
    colour: str
    shape: str
    relation: str
    ref_colour: str
    ref_shape: str

    def __post_init__(self):
        if self.count not in (1, 2, 3):
            raise ValueError(f"count must be 1, 2 or 3, got {self.count}")
        for value, allowed, name in ((self.colour, COLOURS, "colour"), (self.ref_colour, COLOURS, "ref_colour"),
                                     (self.shape, SHAPES, "shape"), (self.ref_shape, SHAPES, "ref_shape"),
                                     (self.relation, RELATIONS, "relation")):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if (self.colour, self.shape) == (self.ref_colour, self.ref_shape):
            raise ValueError("the group and the reference object must differ in colour or shape")


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


# ---------------------------------------------------------------- English
_EN_NUM = {1: "a", 2: "two", 3: "three"}
_EN_REL = {"left": "to the left of", "right": "to the right of", "above": "above", "below": "below"}


def _en(s: Scene, t: int) -> str:
    noun = s.shape + ("s" if s.count > 1 else "")
    group = f"{_EN_NUM[s.count]} {s.colour} {noun}"
    ref = f"a {s.ref_colour} {s.ref_shape}"
    rel = _EN_REL[s.relation]
    if t == 0:
        return _cap(f"{group} {rel} {ref}.")
    if t == 1:
        return f"There {'is' if s.count == 1 else 'are'} {group} {rel} {ref}."
    return f"A picture of {group} {rel} {ref}."


# ---------------------------------------------------------------- German
# gender: Kreis m, Quadrat n, Dreieck n
_DE_NOUN = {"circle": ("Kreis", "Kreise", "Kreisen", "m"), "square": ("Quadrat", "Quadrate", "Quadraten", "n"),
            "triangle": ("Dreieck", "Dreiecke", "Dreiecken", "n")}
_DE_COL = {"red": "rot", "blue": "blau", "green": "grün", "yellow": "gelb"}
_DE_NUM = {2: "zwei", 3: "drei"}
_DE_REL = {"left": "links von", "right": "rechts von", "above": "über", "below": "unter"}


def _de_group(s: Scene, case: str) -> str:
    sg, pl, dat_pl, gender = _DE_NOUN[s.shape]
    adj = _DE_COL[s.colour]
    if s.count > 1:
        if case == "dat":
            return f"{_DE_NUM[s.count]} {adj}en {dat_pl}"
        return f"{_DE_NUM[s.count]} {adj}e {pl}"
    if case == "dat":
        return f"einem {adj}en {sg}"
    if gender == "n":
        return f"ein {adj}es {sg}"
    return f"ein {adj}er {sg}" if case == "nom" else f"einen {adj}en {sg}"


def _de(s: Scene, t: int) -> str:
    ref_sg = _DE_NOUN[s.ref_shape][0]
    ref = f"einem {_DE_COL[s.ref_colour]}en {ref_sg}"
    rel = _DE_REL[s.relation]
    if t == 0:
        verb = "ist" if s.count == 1 else "sind"
        return _cap(f"{_de_group(s, 'nom')} {verb} {rel} {ref}.")
    if t == 1:
        return f"Es gibt {_de_group(s, 'acc')} {rel} {ref}."
    return f"Ein Bild mit {_de_group(s, 'dat')} {rel} {ref}."


# ---------------------------------------------------------------- French (all three nouns masculine)
_FR_NOUN = {"circle": "cercle", "square": "carré", "triangle": "triangle"}
_FR_COL = {"red": "rouge", "blue": "bleu", "green": "vert", "yellow": "jaune"}
_FR_NUM = {1: "un", 2: "deux", 3: "trois"}
_FR_REL = {"left": "à gauche d'", "right": "à droite d'", "above": "au-dessus d'", "below": "en dessous d'"}


def _fr(s: Scene, t: int) -> str:
    plural = "s" if s.count > 1 else ""
    group = f"{_FR_NUM[s.count]} {_FR_NOUN[s.shape]}{plural} {_FR_COL[s.colour]}{plural}"
    ref = f"{_FR_REL[s.relation]}un {_FR_NOUN[s.ref_shape]} {_FR_COL[s.ref_colour]}"
    if t == 0:
        return _cap(f"{group} {'est' if s.count == 1 else 'sont'} {ref}.")
    if t == 1:
        return f"Il y a {group} {ref}."
    return f"Une image avec {group} {ref}."


# ---------------------------------------------------------------- Italian (all masculine)
_IT_NOUN = {"circle": ("cerchio", "cerchi"), "square": ("quadrato", "quadrati"), "triangle": ("triangolo", "triangoli")}
_IT_COL = {"red": ("rosso", "rossi"), "blue": ("blu", "blu"), "green": ("verde", "verdi"),
           "yellow": ("giallo", "gialli")}
_IT_NUM = {1: "un", 2: "due", 3: "tre"}
_IT_REL = {"left": "a sinistra di", "right": "a destra di", "above": "sopra", "below": "sotto"}


def _it(s: Scene, t: int) -> str:
    k = 0 if s.count == 1 else 1
    group = f"{_IT_NUM[s.count]} {_IT_NOUN[s.shape][k]} {_IT_COL[s.colour][k]}"
    ref = f"{_IT_REL[s.relation]} un {_IT_NOUN[s.ref_shape][0]} {_IT_COL[s.ref_colour][0]}"
    if t == 0:
        return _cap(f"{group} {'è' if s.count == 1 else 'sono'} {ref}.")
    if t == 1:
        return ("C'è " if s.count == 1 else "Ci sono ") + f"{group} {ref}."
    return f"Un'immagine con {group} {ref}."


# ---------------------------------------------------------------- Spanish (all masculine)
_ES_NOUN = {"circle": ("círculo", "círculos"), "square": ("cuadrado", "cuadrados"),
            "triangle": ("triángulo", "triángulos")}
_ES_COL = {"red": ("rojo", "rojos"), "blue": ("azul", "azules"), "green": ("verde", "verdes"),
           "yellow": ("amarillo", "amarillos")}
_ES_NUM = {1: "un", 2: "dos", 3: "tres"}
_ES_REL = {"left": "a la izquierda de", "right": "a la derecha de", "above": "encima de", "below": "debajo de"}


def _es(s: Scene, t: int) -> str:
    k = 0 if s.count == 1 else 1
    group = f"{_ES_NUM[s.count]} {_ES_NOUN[s.shape][k]} {_ES_COL[s.colour][k]}"
    ref = f"{_ES_REL[s.relation]} un {_ES_NOUN[s.ref_shape][0]} {_ES_COL[s.ref_colour][0]}"
    if t == 0:
        return _cap(f"{group} {'está' if s.count == 1 else 'están'} {ref}.")
    if t == 1:
        return f"Hay {group} {ref}."
    return f"Una imagen con {group} {ref}."


# ---------------------------------------------------------------- Russian (all masculine inanimate)
# forms: nom sg, gen sg, ins sg
_RU_NOUN = {"circle": ("круг", "круга", "кругом"), "square": ("квадрат", "квадрата", "квадратом"),
            "triangle": ("треугольник", "треугольника", "треугольником")}
# forms: nom sg m, gen sg m, ins sg m, gen pl
_RU_COL = {"red": ("красный", "красного", "красным", "красных"), "blue": ("синий", "синего", "синим", "синих"),
           "green": ("зелёный", "зелёного", "зелёным", "зелёных"),
           "yellow": ("жёлтый", "жёлтого", "жёлтым", "жёлтых")}
_RU_NUM = {2: "два", 3: "три"}


def _ru_ref(s: Scene) -> str:
    noun, col = _RU_NOUN[s.ref_shape], _RU_COL[s.ref_colour]
    if s.relation == "left":
        return f"слева от {col[1]} {noun[1]}"
    if s.relation == "right":
        return f"справа от {col[1]} {noun[1]}"
    prep = "над" if s.relation == "above" else "под"
    return f"{prep} {col[2]} {noun[2]}"


def _ru(s: Scene, t: int) -> str:
    noun, col = _RU_NOUN[s.shape], _RU_COL[s.colour]
    # два/три + adjective in genitive plural + noun in genitive singular
    group = f"{col[0]} {noun[0]}" if s.count == 1 else f"{_RU_NUM[s.count]} {col[3]} {noun[1]}"
    if t == 0:
        return _cap(f"{group} {_ru_ref(s)}.")
    if t == 1:
        return f"На картинке {group} {_ru_ref(s)}."
    return f"{'Изображён' if s.count == 1 else 'Изображены'} {group} {_ru_ref(s)}."


# ---------------------------------------------------------------- Polish
# koło n, kwadrat m (inanimate), trójkąt m; forms: nom sg, nom pl, gen sg, ins sg, gender
_PL_NOUN = {"circle": ("koło", "koła", "koła", "kołem", "n"),
            "square": ("kwadrat", "kwadraty", "kwadratu", "kwadratem", "m"),
            "triangle": ("trójkąt", "trójkąty", "trójkąta", "trójkątem", "m")}
# forms: nom sg m, nom sg n (= nom pl non-virile), gen sg, ins sg
_PL_COL = {"red": ("czerwony", "czerwone", "czerwonego", "czerwonym"),
           "blue": ("niebieski", "niebieskie", "niebieskiego", "niebieskim"),
           "green": ("zielony", "zielone", "zielonego", "zielonym"),
           "yellow": ("żółty", "żółte", "żółtego", "żółtym")}
_PL_NUM = {2: "dwa", 3: "trzy"}


def _pl(s: Scene, t: int) -> str:
    noun, col = _PL_NOUN[s.shape], _PL_COL[s.colour]
    if s.count == 1:
        group = f"{col[1] if noun[4] == 'n' else col[0]} {noun[0]}"
    else:  # 2-4 take the nominative plural
        group = f"{_PL_NUM[s.count]} {col[1]} {noun[1]}"
    rnoun, rcol = _PL_NOUN[s.ref_shape], _PL_COL[s.ref_colour]
    ref = {"left": f"na lewo od {rcol[2]} {rnoun[2]}", "right": f"na prawo od {rcol[2]} {rnoun[2]}",
           "above": f"nad {rcol[3]} {rnoun[3]}", "below": f"pod {rcol[3]} {rnoun[3]}"}[s.relation]
    verb = "jest" if s.count == 1 else "są"
    if t == 0:
        return _cap(f"{group} {verb} {ref}.")
    if t == 1:
        return f"Na obrazku {verb} {group} {ref}."
    return f"Widać {group} {ref}."  # accusative = nominative for these nouns


# ---------------------------------------------------------------- Turkish
_TR_NOUN = {"circle": ("daire", "dairenin"), "square": ("kare", "karenin"), "triangle": ("üçgen", "üçgenin")}
_TR_COL = {"red": "kırmızı", "blue": "mavi", "green": "yeşil", "yellow": "sarı"}
_TR_NUM = {2: "iki", 3: "üç"}
_TR_REL = {"left": "solunda", "right": "sağında", "above": "üstünde", "below": "altında"}


def _tr(s: Scene, t: int) -> str:
    # nouns stay singular after numerals; "bir" sits between adjective and noun
    group = (f"{_TR_COL[s.colour]} bir {_TR_NOUN[s.shape][0]}" if s.count == 1
             else f"{_TR_NUM[s.count]} {_TR_COL[s.colour]} {_TR_NOUN[s.shape][0]}")
    ref = f"{_TR_COL[s.ref_colour]} bir {_TR_NOUN[s.ref_shape][1]} {_TR_REL[s.relation]}"
    if t == 0:
        return _cap(f"{ref} {group} var.")
    if t == 1:
        return f"Resimde {ref} {group} görülüyor."
    return _cap(f"{ref} {group} bulunuyor.")


# ---------------------------------------------------------------- Japanese
_JA_NOUN = {"circle": "丸", "square": "四角", "triangle": "三角"}
_JA_COL = {"red": "赤い", "blue": "青い", "green": "緑の", "yellow": "黄色い"}
_JA_NUM = {1: "一つ", 2: "二つ", 3: "三つ"}
_JA_REL = {"left": "左", "right": "右", "above": "上", "below": "下"}


def _ja(s: Scene, t: int) -> str:
    ref = f"{_JA_COL[s.ref_colour]}{_JA_NOUN[s.ref_shape]}の{_JA_REL[s.relation]}"
    obj = f"{_JA_COL[s.colour]}{_JA_NOUN[s.shape]}"
    if t == 0:
        return f"{ref}に{obj}が{_JA_NUM[s.count]}あります。"
    if t == 1:
        return f"{ref}に{_JA_NUM[s.count]}の{obj}がある。"
    return f"{obj}が{_JA_NUM[s.count]}、{ref}に置かれている画像。"


# ---------------------------------------------------------------- Chinese
_ZH_NOUN = {"circle": "圆形", "square": "正方形", "triangle": "三角形"}
_ZH_COL = {"red": "红色", "blue": "蓝色", "green": "绿色", "yellow": "黄色"}
_ZH_NUM = {1: "一个", 2: "两个", 3: "三个"}
_ZH_REL = {"left": "左边", "right": "右边", "above": "上面", "below": "下面"}


def _zh(s: Scene, t: int) -> str:
    group = f"{_ZH_NUM[s.count]}{_ZH_COL[s.colour]}{_ZH_NOUN[s.shape]}"
    ref = f"一个{_ZH_COL[s.ref_colour]}{_ZH_NOUN[s.ref_shape]}的{_ZH_REL[s.relation]}"
    if t == 0:
        return f"{ref}有{group}。"
    if t == 1:
        return f"{group}在{ref}。"
    return f"图中{ref}有{group}。"


# ---------------------------------------------------------------- Korean
_KO_NOUN = {"circle": "원", "square": "사각형", "triangle": "삼각형"}
_KO_COL = {"red": "빨간", "blue": "파란", "green": "초록색", "yellow": "노란"}
_KO_NUM = {1: "한", 2: "두", 3: "세"}
_KO_REL = {"left": "왼쪽", "right": "오른쪽", "above": "위", "below": "아래"}


def _ko(s: Scene, t: int) -> str:
    ref = f"{_KO_COL[s.ref_colour]} {_KO_NOUN[s.ref_shape]}"
    group = f"{_KO_COL[s.colour]} {_KO_NOUN[s.shape]} {_KO_NUM[s.count]} 개"
    rel = _KO_REL[s.relation]
    if t == 0:
        return f"{ref} {rel}에 {group}가 있습니다."
    if t == 1:
        return f"{group}가 {ref} {rel}에 있다."
    return f"{ref}의 {rel}에 {group}가 놓여 있는 그림."


_WRITERS = {"en": _en, "de": _de, "fr": _fr, "it": _it, "es": _es, "ru": _ru, "ja": _ja, "zh": _zh,
            "pl": _pl, "tr": _tr, "ko": _ko}


def check_language(lang: str) -> str:
    """Return ``lang`` if it is an XTD10 language code, else raise ValueError."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language code {lang!r}; XTD10 languages are {', '.join(LANGUAGES)}")
    return lang


def caption(scene: Scene, lang: str, template: int = 0) -> str:
    """One caption of ``scene`` in language ``lang`` with paraphrase ``template`` (0..2).

    Examples
    --------
    >>> s = Scene(2, "red", "circle", "left", "blue", "square")
    >>> caption(s, "en")
    'Two red circles to the left of a blue square.'
    >>> caption(s, "de")
    'Zwei rote Kreise sind links von einem blauen Quadrat.'
    """
    check_language(lang)
    if not 0 <= template < N_TEMPLATES:
        raise ValueError(f"template must be in 0..{N_TEMPLATES - 1}, got {template}")
    return _WRITERS[lang](scene, template)
