"""Headline figures GO Lab published at known dates, with their sources: facts set beside sibkit's own.

Each row is what the page cited says, read by hand (no text of it is kept here): the number of impact
bonds, service users and capital raised in USD worldwide. GO Lab's monthly "impact bond landscape" pages
say "> 534m" and "> 897,435" for capital and service users (totals of the projects with a figure), so
those are lower bounds (``at_least``). ``date`` is the month of the page (the figures of that month) or
the day the source names.
"""

from __future__ import annotations

from typing import NamedTuple


class Published(NamedTuple):
    date: str  # YYYY-MM or YYYY-MM-DD
    projects: int
    service_users: int
    capital_raised_usd: float
    at_least: bool  # service users and capital are given as "more than"
    source: str
    url: str | None


_LANDSCAPE = "GO Lab, \"{} impact bond landscape\" (Government Outcomes Lab news page)"

PUBLISHED: tuple[Published, ...] = (
    Published("2019-09-01", 164, 513_041, 441.6e6, False,
              "GO Lab's figures for 2019-09-01 as quoted in sibkit's issue 29 (the living-evidence issue); "
              "the GO Lab page they came from was not found again", None),
    Published("2021-11", 225, 897_435, 534e6, True, _LANDSCAPE.format("November 2021"),
              "https://golab.bsg.ox.ac.uk/community/news/november-2021-impact-bond-landscape/"),
    Published("2022-01", 226, 947_435, 547e6, True, _LANDSCAPE.format("January 2022"),
              "https://golab.bsg.ox.ac.uk/community/news/january-2022-impact-bond-landscape/"),
    Published("2022-11", 255, 1_746_606, 726e6, True, _LANDSCAPE.format("November 2022"),
              "https://golab-bsg.herokuapp.com/community/news/november-2022-impact-bond-landscape"),
    Published("2022-12", 269, 1_747_684, 739e6, True, _LANDSCAPE.format("December 2022"),
              "https://golab.bsg.ox.ac.uk/community/news/december-2022-impact-bond-landscape/"),
    Published("2023-03", 276, 1_733_836, 745e6, True, _LANDSCAPE.format("March 2023"),
              "https://golab.bsg.ox.ac.uk/community/news/march-2023-impact-bond-landscape/"),
    Published("2023-07", 280, 2_146_288, 750e6, True, _LANDSCAPE.format("July 2023"),
              "https://golab.bsg.ox.ac.uk/community/news/july-2023-impact-bond-landscape"),
    Published("2024-04", 292, 2_598_620, 764e6, True, _LANDSCAPE.format("April 2024"),
              "https://d3mngsh7as69mg.cloudfront.net/community/news/april-2024-impact-bond-landscape"),
)
