"""The one structured case record that feeds every exporter, and the forensic report.

Facts are stored once (who, when, where, what was done, by whom, which steps
were taken, consent) and each exporter maps them to its recipient's form
(the mappings are data: plugins/vault_plugin_*/mapping.json).

Both models are SEALED content: the client encrypts them like any evidence
item; the server sees them only at the moment a browser asks it to render an
export, in memory. Hence every string has a length limit and every list a
bound: the record arrives from a client and must not be able to exhaust the
renderer. Unknown keys are refused (``extra="forbid"``) so a typo in a client
cannot silently drop a fact.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vault import jsonlimits
from vault.domain import vocab

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Narrative = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100_000)]
ItemId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Lang = Literal["en", "ru", "ky", "fr"]

Region = Literal[vocab.REGIONS]  # type: ignore[valid-type]
PlaceType = Literal[vocab.DETENTION_PLACE_TYPES]  # type: ignore[valid-type]
Violation = Literal[vocab.VIOLATIONS]  # type: ignore[valid-type]
Method = Literal[vocab.METHODS]  # type: ignore[valid-type]
PerpetratorType = Literal[vocab.PERPETRATOR_TYPES]  # type: ignore[valid-type]
Consistency = Literal[vocab.CONSISTENCY]  # type: ignore[valid-type]
Sex = Literal[vocab.SEX]  # type: ignore[valid-type]
BodyRegion = Literal[vocab.BODY_REGIONS]  # type: ignore[valid-type]
CustodyStatus = Literal[vocab.CUSTODY_STATUS]  # type: ignore[valid-type]
AttachmentCategory = Literal[vocab.ATTACHMENT_CATEGORIES]  # type: ignore[valid-type]
VictimStatus = Literal[vocab.VICTIM_STATUS]  # type: ignore[valid-type]
RemedyType = Literal[vocab.REMEDY_TYPES]  # type: ignore[valid-type]

FEW = 20
MANY = 200
# The JSON of one record, in bytes: as much as the browser may send with a whole export description.
RECORD_MAX = 8 * 1024 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Victim(_Model):
    family_name: Short | None = None
    first_names: Short | None = None
    patronymic: Short | None = None  # includes Kyrgyz "uulu"/"kyzy" forms
    pseudonym: Short | None = None  # agreed with the victim for publication
    sex: Sex | None = None
    date_of_birth: dt.date | None = None
    age: Annotated[int, Field(ge=0, le=130)] | None = None
    place_of_birth: Line | None = None
    nationality: Short | None = None
    occupation: Short | None = None
    id_document: Short | None = None  # type and number of the identity document
    activities: Text | None = None  # political, religious, trade-union, press...
    address: Line | None = None
    deceased: bool = False
    # Why the victim cannot authorise anyone (HRC model form: deceased, disappeared, incommunicado)
    status: VictimStatus | None = None
    # None means "not asked yet"; False is an answer. Exporters tell the two apart.
    consent_to_submit: bool | None = None  # victim (or family) agrees to the submission
    consent_publish_name: bool | None = None
    consent_transmit_name_to_government: bool | None = None
    # The victim asks a UN treaty body to keep the identity out of its published decision
    request_anonymity: bool | None = None

    @property
    def cannot_authorise(self) -> bool:
        """Dead, disappeared or held incommunicado: the HRC accepts a complaint without authorisation."""
        return self.deceased or self.status is not None

    @property
    def full_name(self) -> str | None:
        parts = [p for p in (self.family_name, self.first_names, self.patronymic) if p]
        return " ".join(parts) or None

    def age_on(self, day: dt.date) -> int | None:
        if self.date_of_birth is None:
            return self.age
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Arrest(_Model):
    date: dt.date | None = None
    place: Line | None = None
    region: Region | None = None
    force: PerpetratorType | None = None
    force_unit: Line | None = None  # institution and unit, e.g. "Sverdlovsky district police"
    warrant: bool | None = None
    reasons_given: Text | None = None


class DetentionPlace(_Model):
    name: Line
    place_type: PlaceType
    region: Region | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class Period(_Model):
    date_from: dt.date
    date_to: dt.date | None = None
    notes: Line | None = None


class Detention(_Model):
    places: list[DetentionPlace] = Field(default_factory=list, max_length=FEW)
    lawyer_access: bool | None = None
    lawyer_access_date: dt.date | None = None
    family_access: bool | None = None
    family_informed_date: dt.date | None = None
    incommunicado: list[Period] = Field(default_factory=list, max_length=FEW)
    current_status: CustodyStatus | None = None
    current_whereabouts: Line | None = None
    present_risk: Text | None = None


class Perpetrator(_Model):
    type: PerpetratorType
    institution: Line | None = None
    unit: Line | None = None
    names: Line | None = None  # names and ranks, if known


class Act(_Model):
    """One incident of torture or ill-treatment (HURIDOCS "act")."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    place: Line | None = None
    place_type: PlaceType | None = None
    region: Region | None = None
    violation: Violation
    methods: list[Method] = Field(default_factory=list, max_length=len(vocab.METHODS))
    method_details: Text | None = None
    injuries: Text | None = None
    apparent_purpose: Line | None = None  # confession, punishment, intimidation...
    perpetrators: list[Perpetrator] = Field(default_factory=list, max_length=FEW)

    @property
    def last_date(self) -> dt.date | None:
        return self.date_to or self.date_from


class Examination(_Model):
    date: dt.date | None = None
    examiner: Line | None = None  # name and function
    institution: Line | None = None
    findings: Text | None = None
    consistency: Consistency | None = None  # overall, on the Istanbul Protocol scale
    report_item: ItemId | None = None  # the forensic report evidence item, if attached


class Autopsy(_Model):
    date: dt.date | None = None
    performed_by: Line | None = None
    findings: Text | None = None
    family_present: bool | None = None


class Medical(_Model):
    examinations: list[Examination] = Field(default_factory=list, max_length=FEW)
    treatment: Text | None = None
    current_condition: Text | None = None
    autopsy: Autopsy | None = None


class DomesticRemedy(_Model):
    body: Line  # prosecutor's office, court, internal investigation...
    type: RemedyType | None = None  # the step of the domestic chain (vocab.REMEDY_TYPES)
    date: dt.date | None = None
    action: Text | None = None  # what was filed or asked
    outcome: Text | None = None
    decision_date: dt.date | None = None


class OtherProcedure(_Model):
    body: Line
    date: dt.date | None = None
    reference: Short | None = None
    status: Line | None = None
    date_concluded: dt.date | None = None  # None: still being examined (OP ICCPR art. 5(2)(a))


class ArticleClaim(_Model):
    instrument: Literal["ICCPR", "CAT"]
    article: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,2}(\([0-9a-z]{1,3}\))*$")]
    explanation: Text | None = None  # how the facts breach this article


class InterimMeasures(_Model):
    requested: bool = False
    reason: Text | None = None  # the risk of irreparable harm


class Source(_Model):
    organisation: Line | None = None
    contact_person: Short | None = None
    relationship_to_victim: Line | None = None
    email: Short | None = None
    phone: Short | None = None
    address: Line | None = None
    may_be_named: bool | None = None


class Applicant(_Model):
    """Who signs: the victim, a relative or a representative (the Ombudsman's "заявитель")."""

    full_name: Short | None = None
    relationship_to_victim: Literal["self", "family", "lawyer", "organisation", "other"] | None = None
    address: Line | None = None  # address for the reply
    phone: Short | None = None
    email: Short | None = None


class Authorisation(_Model):
    given: bool | None = None  # the victim's written authorisation to act for them
    given_by: Short | None = None
    date: dt.date | None = None
    # HRC model form: "explain why you act without authorisation" (victim dead, disappeared, incommunicado)
    no_authorisation_reason: Text | None = None


class AttachmentRef(_Model):
    item_id: ItemId
    title: Line | None = None  # how the document lists it; the file name otherwise
    category: AttachmentCategory = "evidence"


class Requests(_Model):
    omct_actions: list[Line] = Field(default_factory=list, max_length=FEW)
    concern: Text | None = None  # OMCT appeal's "concern" paragraph, if not the default
    remedy_sought: Text | None = None  # treaty body
    interim_measures: InterimMeasures = Field(default_factory=InterimMeasures)
    ombudsman_request: Text | None = None  # replaces the letter's default request


class CaseRecord(_Model):
    """Everything the exporters need about one case."""

    v: Literal[1] = 1
    reference: Short | None = None  # the organisation's own case reference
    state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "KGZ"
    title: Line | None = None
    facts: dict[Lang, Narrative] = Field(default_factory=dict)  # in date order, per language
    victim: Victim = Field(default_factory=Victim)
    arrest: Arrest = Field(default_factory=Arrest)
    detention: Detention = Field(default_factory=Detention)
    acts: list[Act] = Field(default_factory=list, max_length=50)
    medical: Medical = Field(default_factory=Medical)
    domestic_remedies: list[DomesticRemedy] = Field(default_factory=list, max_length=50)
    no_remedies_reason: Text | None = None  # why domestic remedies were not available or are ineffective
    final_decision_date: dt.date | None = None  # the final domestic decision (HRC 5-year rule)
    violation_known_date: dt.date | None = None  # when the violation became known (Akyikatchy time limit)
    against_state_body: bool | None = None  # the complaint is against a state or local body or official
    pending_in_court: bool | None = None  # the same matter is before a court now
    other_procedures: list[OtherProcedure] = Field(default_factory=list, max_length=FEW)
    other_procedures_none: bool | None = None  # True: confirmed not submitted elsewhere
    claims: list[ArticleClaim] = Field(default_factory=list, max_length=40)
    requests: Requests = Field(default_factory=Requests)
    source: Source = Field(default_factory=Source)
    applicant: Applicant = Field(default_factory=Applicant)
    authorisation: Authorisation = Field(default_factory=Authorisation)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=MANY)

    @property
    def violations(self) -> list[str]:
        """The distinct violation codes of the acts, in vocabulary order."""
        seen = {act.violation for act in self.acts}
        return [code for code in vocab.VIOLATIONS if code in seen]

    @property
    def last_domestic_decision(self) -> dt.date | None:
        dates = [r.decision_date for r in self.domestic_remedies if r.decision_date]
        return max(dates) if dates else None

    @property
    def last_violation_date(self) -> dt.date | None:
        dates = [a.last_date for a in self.acts if a.last_date]
        return max(dates) if dates else None

    @property
    def first_violation_date(self) -> dt.date | None:
        dates = [a.date_from for a in self.acts if a.date_from]
        return min(dates) if dates else None


class ForensicFinding(_Model):
    """One lesion (or the overall picture) and its consistency with the alleged method."""

    lesion: Line
    body_region: BodyRegion | None = None
    alleged_method: Method | None = None
    consistency: Consistency | None = None
    reasoning: Text | None = None
    attribution_not_possible: Text | None = None  # why, where no degree can be given


class ForensicReport(_Model):
    """A medic's Istanbul Protocol report (Annex IV structure): the sealed content of the item."""

    v: Literal[1] = 1
    # Case information
    exam_date: dt.date
    exam_place: Line
    exam_duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)] | None = None
    requested_by: Line | None = None
    interpreter: Short | None = None
    informed_consent: bool
    persons_present: Line | None = None
    restraints: Line | None = None  # restraints and custody conditions during the examination
    # The conditions of the examination, as answers (None: not asked). The Istanbul Principles
    # (Protocol, annex I, principle 6(a)) want the examination in private, under the clinician's
    # control, without security agents or other officials present; annex IV's case information asks
    # who was present and whether the person was restrained.
    officials_present: bool | None = None  # police, guards or other officials in the room
    restraints_used: bool | None = None
    clinician_independent: bool | None = None  # independent of the detaining or investigating authority
    independence_details: Line | None = None  # the clinician's employer, any link to those authorities
    # The clinician
    clinician_name: Short
    clinician_qualifications: Line
    truthfulness_statement: Text | None = None
    # History and examination
    background: Text | None = None
    allegations: Narrative | None = None  # in the person's own words
    physical_symptoms: Text | None = None
    physical_exam: dict[BodyRegion, Text] = Field(default_factory=dict)
    diagram_items: list[ItemId] = Field(default_factory=list, max_length=MANY)
    photo_items: list[ItemId] = Field(default_factory=list, max_length=MANY)
    psychological_history: Text | None = None
    psychological_exam: Text | None = None
    diagnostic_tests: Text | None = None
    consultations: Text | None = None
    # Interpretation
    findings: list[ForensicFinding] = Field(default_factory=list, max_length=MANY)
    overall_consistency: Consistency | None = None
    overall_reasoning: Text | None = None
    conclusions: Text | None = None
    recommendations: Text | None = None
    restrictions: Text | None = None  # restrictions placed on the examination
    signed_by: Short | None = None
    signature_date: dt.date | None = None

    def as_examination(self, report_item: str | None = None) -> Examination:
        """The summary an exporter prints under "medical", taken from this report."""
        return Examination(
            date=self.exam_date,
            examiner=f"{self.clinician_name}, {self.clinician_qualifications}"[:1000],
            institution=self.exam_place,
            findings=self.conclusions,
            consistency=self.overall_consistency,
            report_item=report_item,
        )


def parse_case(data: dict | CaseRecord) -> CaseRecord:
    """A CaseRecord from client JSON; raises pydantic.ValidationError on bad input.

    Callers must not log the error's input values: they are sealed content.
    """
    if isinstance(data, CaseRecord):
        return data
    return CaseRecord.model_validate(data)


def parse_case_json(raw: bytes) -> CaseRecord:
    """A CaseRecord from the JSON bytes of a record file, bounded in size and depth before parsing.

    Raises vault.jsonlimits.TooLarge or TooDeep, pydantic.ValidationError,
    or ValueError for bytes that are not JSON — catch ValidationError first
    (it is a ValueError too). The same caution about logging applies.
    """
    return parse_case(jsonlimits.loads(raw, max_bytes=RECORD_MAX))
