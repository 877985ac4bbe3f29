"""Published sources behind every clinical rule.

Identifiers (R1 … R54) follow the clinic's reference dossier (shared/clinical/REFERENCE.md §0), so a reviewer can go
from a rule in the catalogue to the passage it rests on. A rule cites a source with :func:`cite`, naming the section
or table it relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Evidence(StrEnum):
    """How firmly a rule rests on its source."""

    PUBLISHED = "published"  # read in a reachable copy of the source
    BEST_KNOWLEDGE = "best-knowledge"  # believed correct, not verified in a reachable copy: verify before relying
    POLICY = "policy"  # a clinic choice, exposed as a setting with a guideline default


@dataclass(frozen=True)
class Source:
    """A publication, label or guideline."""

    id: str
    title: str
    year: str
    url: str


@dataclass(frozen=True)
class Citation:
    """A pointer to the part of a source a rule relies on."""

    source: Source
    section: str = ""

    def __str__(self) -> str:
        where = f", {self.section}" if self.section else ""
        return f"[{self.source.id}] {self.source.title} ({self.source.year}){where}"


_SOURCES: tuple[Source, ...] = (
    Source(
        "R1",
        "SPRAVATO (esketamine) nasal spray, US Prescribing Information",
        "2019–2026",
        "https://nctr-crs.fda.gov/fdalabel/services/spl/set-ids/d81a6a79-a74a-44b7-822c-0dfa3036eaed/spl-doc",
    ),
    Source(
        "R2",
        "Janssen SPRAVATO HCP dosing and administration pages",
        "2020",
        "https://www.spravatohcp.com/dosing-and-administration",
    ),
    Source(
        "R3",
        "SPRAVATO Hong Kong / EU-structured label (MIMS)",
        "current",
        "https://uat.mimsdev.com/hongkong/drug/info/spravato",
    ),
    Source(
        "R4",
        "FDA SPRAVATO REMS summary and SPRAVATO REMS site",
        "current",
        "https://www.accessdata.fda.gov/scripts/cder/rems/index.cfm?event=IndvRemsDetails.page&REMS=386",
    ),
    Source(
        "R5",
        "SPRAVATO REMS Patient Monitoring Form – Outpatient",
        "2021",
        "https://jnjmedicalconnect.com/products/spravato/video-spravato-rems-patient-monitoring-form-overview",
    ),
    Source(
        "R6",
        "J&J Medical Information: missed dose; MAOI co-use",
        "2024–2025",
        "https://www.jnjmedicalconnect.com/products/spravato/medical-content/"
        "dosage-and-administration-management-of-missed-dose-or-reinitiation-after-spravato-discontinuation",
    ),
    Source(
        "R7",
        "ESCAPE-TRD (NCT04338321) results record",
        "2023",
        "https://meddatax.com/clinical-trials/NCT04338321/results",
    ),
    Source(
        "R8",
        "Ketalar / ketamine hydrochloride injection, US labels",
        "2020–2024",
        "https://fda.report/DailyMed/46dab560-8ecd-4d92-8c92-6baa2310b09b",
    ),
    Source(
        "R9",
        "Sanacora G et al. Consensus statement on ketamine in mood disorders, JAMA Psychiatry",
        "2017",
        "https://moreblossom.com/papers/a-consensus-statement-on-the-use-of-ketamine-in-the-treatment-of-mood-disorders",
    ),
    Source(
        "R10",
        "Murrough JW et al. Two-site RCT of ketamine in TRD, Am J Psychiatry",
        "2013",
        "https://vdocuments.pub/ni-hms-572203.html",
    ),
    Source(
        "R11",
        "Murrough JW et al. Repeated ketamine infusions, Biol Psychiatry",
        "2013",
        "https://research.rug.nl/nl/publications/rapid-and-longer-term-antidepressant-effects-of-repeated-ketamine",
    ),
    Source(
        "R12",
        "Phillips JL et al. Single, repeated and maintenance ketamine infusions, Am J Psychiatry",
        "2019",
        "https://pubmed.ncbi.nlm.nih.gov/30922101/",
    ),
    Source(
        "R13",
        "Fava M et al. Dose-ranging RCT of IV ketamine in TRD, Mol Psychiatry",
        "2018",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC6447473",
    ),
    Source(
        "R14",
        "Zarate CA et al. 2006, as tabulated in PMC6020109 Table 1",
        "2006",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC6020109/table/T1",
    ),
    Source(
        "R15",
        "Andrade C. Ketamine dose, route and frequency; drug interactions; oral ketamine, J Clin Psychiatry",
        "2017/2019",
        "https://www.psychiatrist.com/JCP/article/Pages/2017/v78n07/17f11738.aspx",
    ),
    Source(
        "R16",
        "ASKP3 Routes of Administration dose-equivalence table",
        "2020",
        "http://www.askp.org/patients/routes-of-administration-roa/",
    ),
    Source(
        "R17",
        "Lara DR et al. Very-low-dose sublingual ketamine, Int J Neuropsychopharmacol",
        "2013",
        "https://docslib.org/doc/4347699/",
    ),
    Source(
        "R18",
        "ASKP3 Standards of Practice in the Therapeutic Use of Subanesthetic Ketamine",
        "2020",
        "https://jewelketamine.com/our-standards",
    ),
    Source(
        "R19",
        "McIntyre RS et al. International expert synthesis on ketamine, Am J Psychiatry",
        "2021",
        "https://psychiatryonline.org/doi/10.1176/appi.ajp.2020.20081251",
    ),
    Source(
        "R20",
        "Parikh SV et al. IV ketamine clinic primer, Psychopharmacol Bull",
        "2021",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC8374924",
    ),
    Source(
        "R21",
        "Yip R et al. Hypertension management in IV ketamine, Front Psychiatry",
        "2022",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC9556663",
    ),
    Source(
        "R22",
        "Riva-Posse P et al. Blood pressure safety of subanesthetic ketamine: 684 infusions, J Affect Disord",
        "2018",
        "https://moreblossom.com/papers/blood-pressure-safety-of-subanesthetic-ketamine-for-depression-a-report-on-684-i",
    ),
    Source(
        "R23",
        "Yale chart review of 2342 ketamine infusions, Gen Hosp Psychiatry",
        "2024",
        "https://litmetric.com/detail/38991311/Blood-pressure-changes-during-ketamine-infusion-for-the-treatment-of-depression",
    ),
    Source(
        "R24",
        "College of Physicians & Surgeons of BC draft standard: parenteral ketamine for mood disorders",
        "2021",
        "https://www.katacanada.org/uncategorized/deadline-passed-parenteral-use-of-ketamine-for-the-treatment-of-mood-disorders-cpsbc/",
    ),
    Source(
        "R25",
        "ASA statement on safe use of ketamine outside anesthesia",
        "current",
        "https://asahq.org/advocating-for-you/guidance/ketamine-safe-use",
    ),
    Source(
        "R26",
        "Benzodiazepines and ketamine response: Andrashko 2020; Feeney 2023",
        "2020/2023",
        "https://www.frontiersin.org/articles/10.3389/fpsyt.2020.00844/full",
    ),
    Source(
        "R27",
        "TRD definitions and staging: esketamine Ph2b (BMC Psychiatry 2021); Thase–Rush; MGH-ATRQ",
        "2021",
        "https://bmcpsychiatry.biomedcentral.com/articles/10.1186/s12888-021-03538-y",
    ),
    Source(
        "R28",
        "MOAA/S scale table, BMC Anesthesiology",
        "2022",
        "https://bmcanesthesiol.biomedcentral.com/articles/10.1186/s12871-022-01788-1/tables/2",
    ),
    Source(
        "R29",
        "CADSS (Bremner 2024, J Affect Disord) and CADSS-6 (Rodrigues 2021, J Affect Disord)",
        "2021/2024",
        "https://research.regionh.dk/da/publications/a-simplified-6-item-clinician-administered-dissociative-symptom-s",
    ),
    Source(
        "R30",
        "Modified Aldrete score (World J Gastroenterol 2015); PADSS (Chung 1995)",
        "1995/2015",
        "http://wjgnet.com/1007-9327/full/v21/i12/3671-T2.htm",
    ),
    Source(
        "R31",
        "ASA Practice Guidelines for Preoperative Fasting",
        "2017",
        "https://www.droracle.ai/articles/571098/what-are-the-asa-american-society-of-anesthesiologists-fasting",
    ),
    Source(
        "R32",
        "ACEP Clinical Practice Guideline for ED Ketamine Dissociative Sedation (Green et al.)",
        "2011",
        "https://pl.scribd.com/document/134262288/ACEP-Ketamine-Guideline-2011",
    ),
    Source(
        "R33",
        "ED low-dose ketamine protocol (vital-sign exclusions, discharge)",
        "current",
        "http://html.scirp.org/file/_3-1750111_1.htm",
    ),
    Source(
        "R34",
        "2017 ACC/AHA blood pressure categories; StatPearls Hypertensive urgency",
        "2017",
        "https://www.statpearls.com/sp/rnc/213/23227/",
    ),
    Source(
        "R35",
        "PHQ-9: Kroenke 2001 scoring; Löwe 2004 Med Care (MCID)",
        "2001/2004",
        "https://www.calcipedia.org/calculators/phq-9-calculator",
    ),
    Source(
        "R36",
        "GAD-7: Spitzer 2006, Arch Intern Med",
        "2006",
        "https://www.researchgate.net/publication/7064924_A_Brief_Measure_for_Assessing_Generalized_Anxiety_Disorder_The_GAD-7",
    ),
    Source(
        "R37",
        "QIDS-SR16: ids-qids.org interpretation and administration",
        "2003–2006",
        "http://ids-qids.org/interpretation.html",
    ),
    Source(
        "R38",
        "MADRS: Montgomery & Åsberg 1979; Herrmann 1998 bands (CamCOPS implementation)",
        "1979/1998",
        "https://strokengine.ca/en/assessments/montgomery-asberg-depression-rating-scale-madrs",
    ),
    Source(
        "R39",
        "C-SSRS screener with triage points (Columbia); SPiER data dictionary",
        "current",
        "https://cssrs.columbia.edu/the-columbia-scale-c-ssrs/triage-c-ssrs/",
    ),
    Source(
        "R40",
        "PCL-5 (Weathers 2013, National Center for PTSD) scoring",
        "2013",
        "https://comorbidityguidelines.org.au/appendix-s-ptsd-checklist-for-dsm5-pcl5/pcl5-scoring-and-interpretation",
    ),
    Source(
        "R41",
        "Y-BOCS (Goodman 1989) severity bands; OCD Scales LLC terms",
        "1989",
        "http://brainphysics.com/ocd/ybocs.html",
    ),
    Source(
        "R42",
        "AUDIT (Babor et al., WHO)",
        "2001",
        "https://comorbidityguidelines.org.au/appendix-u-alcohol-use-disorders-identification-test-audit/audit-scoring-clinician-use-only",
    ),
    Source(
        "R43",
        "MIDAS (Stewart & Lipton, Neurology)",
        "2001",
        "https://en.wikipedia.org/wiki/Migraine_Disability_Assessment_Test",
    ),
    Source(
        "R44",
        "HAM-D17 (Hamilton 1960; Zimmerman 2013 severity bands)",
        "1960/2013",
        "https://statistics.datanalysis.net/questionnaires/health/hamd-17",
    ),
    Source(
        "R45",
        "Esketamine long-term trials: SUSTAIN-1, SUSTAIN-2, SUSTAIN-3, ASPIRE I",
        "2019–2023",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC6551577",
    ),
    Source(
        "R46",
        "LOINC / FHIR R4 codes as used in public implementations (vital signs value set, US Core)",
        "current",
        "http://hl7.org/fhir/R4/valueset-observation-vitalsignresult.html",
    ),
    Source(
        "R47", "RxNorm concept pages for esketamine nasal spray", "current", "https://ndclist.com/rxnorm/rxcui/2201623"
    ),
    Source(
        "R48",
        "HCPCS/CPT descriptors: G2082, G2083, 96365/96366, 99415/99416",
        "current",
        "https://www.codingahead.com/hcpcs-code-g2083/",
    ),
    Source(
        "R49",
        "ICD-10-CM FY2026 (CMS), as reproduced",
        "2026",
        "https://www.mediyn.com/resources/icd-10-codes/F30-F39/F33",
    ),
    Source(
        "R50",
        "Andrade 2017 interaction review; Anand 2000 (lamotrigine), Arch Gen Psychiatry",
        "2000/2017",
        "https://legacy.psychiatrist.com/jcp/depression/ketamine-for-depression-pharmacokinetic-and-pharmacodynamic-drug-interactions",
    ),
    Source(
        "R51",
        "Trial eligibility table, J Affect Disord Rep (PMC10812090 Table 1)",
        "2023",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC10812090/table/T1",
    ),
    Source(
        "R52",
        "Cochrane review trial-characteristics table (PMC8434915)",
        "2021",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/CD011612-tblf-0101",
    ),
    Source(
        "R53",
        "Clinic exclusion lists of ketamine-assisted psychotherapy programmes",
        "current",
        "https://www.carolinascenter.com/kap-exclusions",
    ),
    Source(
        "R54",
        "ICD-10-CM and LOINC code lists in public code repositories (cross-checked)",
        "current",
        "https://loinc.org",
    ),
)

SOURCES: dict[str, Source] = {s.id: s for s in _SOURCES}


def cite(source_id: str, section: str = "") -> Citation:
    """A citation of ``source_id`` (e.g. ``"R1"``) at ``section``; unknown ids raise ``KeyError`` at import time."""
    return Citation(SOURCES[source_id], section)
