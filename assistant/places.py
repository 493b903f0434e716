"""Places in England that staff name in questions, in whatever case they type them.

A question about a place the caller's documents never mention ("who chairs partnership
southwark", "leeds' place model") cannot be answered from them. Capitalised names are caught
as names (assistant.refusal); staff often type in lower case, so the councils, integrated care
systems and NHS regions of England are listed here, from public knowledge, not from the corpus:
nothing in the list says which places any document covers.

Left out on purpose: places whose name is also an everyday word ("reading", "bury", "bath",
"sale", "wells", "harrow", "slough", "rugby", "deal"), which a question uses as that word.
"""
from __future__ import annotations

import re
from functools import lru_cache

_PLACES = """
barking and dagenham, barnet, bexley, brent, bromley, camden, city of london, croydon, ealing,
enfield, greenwich, hackney, hammersmith and fulham, haringey, havering, hillingdon, hounslow,
islington, kensington and chelsea, kingston upon thames, lambeth, lewisham, merton, newham,
redbridge, richmond upon thames, southwark, tower hamlets, waltham forest, wandsworth,
westminster,
bolton, manchester, oldham, rochdale, salford, stockport, tameside, trafford, wigan, knowsley,
liverpool, st helens, sefton, wirral, barnsley, doncaster, rotherham, sheffield, gateshead,
newcastle, newcastle upon tyne, north tyneside, south tyneside, sunderland, birmingham,
coventry, dudley, sandwell, solihull, walsall, wolverhampton, bradford, calderdale, kirklees,
leeds, wakefield,
cambridgeshire, derbyshire, devon, east sussex, essex, gloucestershire, hampshire,
hertfordshire, kent, lancashire, leicestershire, lincolnshire, norfolk, nottinghamshire,
oxfordshire, staffordshire, suffolk, surrey, warwickshire, west sussex, worcestershire, cumbria,
north yorkshire, somerset, northamptonshire, buckinghamshire, berkshire, bedfordshire, cheshire,
shropshire, wiltshire, dorset, cornwall, durham, herefordshire, northumberland, merseyside,
yorkshire, sussex, humber, frimley, black country, teesside, tees valley,
bath and north east somerset, bedford, blackburn with darwen, blackpool, bournemouth,
christchurch, poole, bracknell forest, brighton and hove, brighton, bristol, central bedfordshire,
cheshire east, cheshire west and chester, cumberland, darlington, derby, east riding of yorkshire,
halton, hartlepool, isle of wight, isles of scilly, hull, kingston upon hull, leicester, luton,
medway, middlesbrough, milton keynes, north east lincolnshire, north lincolnshire,
north northamptonshire, west northamptonshire, north somerset, nottingham, peterborough, plymouth,
portsmouth, redcar and cleveland, rutland, southampton, southend, southend-on-sea,
south gloucestershire, stockton-on-tees, stoke-on-trent, stoke, swindon, telford and wrekin,
telford, thurrock, torbay, warrington, west berkshire, westmorland and furness,
windsor and maidenhead, wokingham, york, cambridge, oxford, exeter, norwich, ipswich,
colchester, chelmsford, canterbury, preston, lancaster, carlisle, harrogate, scarborough,
gloucester, worcester, hereford, lincoln, chester, salisbury, winchester, guildford, maidstone,
basildon, watford, stevenage, huddersfield, halifax, blackburn, burnley, grimsby, scunthorpe,
mansfield, chesterfield, crawley, eastbourne, hastings, margate, folkestone, dover, tunbridge,
waveney, croydon, kingston, richmond,
greater manchester, greater london, london, north central london, north east london,
north west london, south east london, south west london, lancashire and south cumbria,
cheshire and merseyside, north east and north cumbria, west yorkshire, south yorkshire,
humber and north yorkshire, kent and medway, surrey heartlands, cornwall and isles of scilly,
hampshire and isle of wight, herefordshire and worcestershire, birmingham and solihull,
coventry and warwickshire, shropshire telford and wrekin, staffordshire and stoke-on-trent,
derby and derbyshire, nottingham and nottinghamshire, leicester leicestershire and rutland,
cambridgeshire and peterborough, norfolk and waveney, suffolk and north east essex,
mid and south essex, hertfordshire and west essex, bedfordshire luton and milton keynes,
west midlands, east midlands, east of england, north west, north east, south west, south east,
scotland, wales, northern ireland
"""


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    """Longest names first, so "north east london" is one place and not "north east"."""
    names = {n.strip() for n in _PLACES.replace("\n", " ").split(",") if n.strip()}
    alternatives = "|".join(re.escape(n).replace(r"\ ", r"[\s-]+")
                            for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({alternatives})(?:['’]s)?(?![\w-])", re.I)


def places_named(text: str) -> set[str]:
    """The places of England a text names, lower-cased ("Southwark's" -> "southwark")."""
    return set(_places_in(text))


@lru_cache(maxsize=4096)
def _places_in(text: str) -> frozenset[str]:
    """Remembered per text: the pattern has hundreds of names and the same passages are
    checked question after question."""
    return frozenset(re.sub(r"[\s-]+", " ", m.group(1).lower()) for m in _pattern().finditer(text))
