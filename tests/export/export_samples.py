"""A realistic case record and signed evidence items, shared by the export tests.

The case is invented but shaped like the coalition's real ones: a young man
from Bishkek arrested by district police, beaten and suffocated to obtain a
confession, examined by a forensic doctor, complaints to the prosecutor
refused. Names and places carry the Kyrgyz letters ң ө ү on purpose.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from dataclasses import dataclass

from vault import crypto
from vault.domain import trust
from vault.domain.exports import ExportItem, ExportOptions

ENABLED = frozenset({"omct", "un", "ombudsman"})  # every bundled plugin enabled
KY_NAME = "Өмүрбеков"
KY_ADDRESS = "Бишкек ш., Жаңы-Жер көчөсү, 12"

FACTS = {
    "en": (
        "On 12 March 2025 at about 18:00 Mr Ömürbekov was stopped near his home by three officers "
        "of the Sverdlovsky district police department and taken to the department without being "
        "told why.\n\nDuring the night of 12 to 13 March officers beat him with a rubber truncheon "
        "on the soles of his feet and put a plastic bag over his head several times, demanding "
        "that he confess to a robbery. He was not allowed to call his family or a lawyer until "
        "14 March.\n\nOn 14 March he signed a confession and was transferred to the temporary "
        "detention facility (IVS)."
    ),
    "ru": (
        "12 марта 2025 года около 18:00 Өмүрбеков Н. был задержан возле дома тремя сотрудниками "
        "Свердловского РОВД г. Бишкек и доставлен в отдел без объяснения причин.\n\nВ ночь с 12 на "
        "13 марта сотрудники били его резиновой дубинкой по стопам и несколько раз надевали на "
        "голову полиэтиленовый пакет, требуя признаться в грабеже. До 14 марта ему не давали "
        "связаться с семьёй и адвокатом.\n\n14 марта он подписал признательные показания и был "
        "переведён в ИВС."
    ),
    "ky": (
        "2025-жылдын 12-мартында саат 18:00дө Бишкек шаарынын Свердлов райондук ички иштер "
        "бөлүмүнүн үч кызматкери мени үйүмдүн жанынан кармап, себебин түшүндүрбөстөн бөлүмгө алып "
        "барышты.\n\n12-мартты 13-мартка караган түнү кызматкерлер тоноо боюнча күнөөмдү мойнума "
        "алууну талап кылып, резина таяк менен таманыма уруп, башыма бир нече жолу полиэтилен пакет "
        "кийгизишти. 14-мартка чейин үй-бүлөм жана адвокат менен байланышууга уруксат беришкен жок."
    ),
}


def full_case() -> dict:
    """A complete case record, as the client sends it (JSON-shaped)."""
    return copy.deepcopy({
        "reference": "BISH-2025-017",
        "state": "KGZ",
        "title": "Torture in Sverdlovsky district police",
        "facts": FACTS,
        "victim": {
            "family_name": KY_NAME, "first_names": "Нурсултан", "patronymic": "Төлөнбекович",
            "pseudonym": "N.Ö.", "sex": "male", "date_of_birth": "2001-05-04",
            "place_of_birth": "Нарын облусу, Ат-Башы району, Ак-Муз айылы",
            "nationality": "Кыргыз Республикасы", "occupation": "студент, курьер",
            "id_document": "ID 2345678", "activities": "Активист молодёжного движения «Жаңы муун»",
            "address": KY_ADDRESS, "consent_to_submit": True, "consent_publish_name": True,
            "consent_transmit_name_to_government": True, "request_anonymity": False,
        },
        "arrest": {
            "date": "2025-03-12", "place": "Бишкек, возле дома по ул. Жаңы-Жер, 12",
            "region": "bishkek", "force": "police", "force_unit": "Свердловский РОВД г. Бишкек",
            "warrant": False, "reasons_given": "Причины не объяснили",
        },
        "detention": {
            "places": [
                {"name": "Свердловский РОВД", "place_type": "police_station", "region": "bishkek",
                 "date_from": "2025-03-12", "date_to": "2025-03-14"},
                {"name": "ИВС ГУВД г. Бишкек", "place_type": "temporary_detention", "region": "bishkek",
                 "date_from": "2025-03-14"},
            ],
            "lawyer_access": True, "lawyer_access_date": "2025-03-14",
            "family_access": True, "family_informed_date": "2025-03-14",
            "incommunicado": [{"date_from": "2025-03-12", "date_to": "2025-03-14",
                               "notes": "без связи с семьёй и адвокатом"}],
            "current_status": "detained", "current_whereabouts": "СИЗО-1, г. Бишкек",
            "present_risk": "Угрозы повторного насилия после подачи жалобы",
        },
        "acts": [{
            "date_from": "2025-03-12", "date_to": "2025-03-13", "place": "Свердловский РОВД, кабинет 14",
            "place_type": "police_station", "region": "bishkek", "violation": "torture",
            "methods": ["beating", "asphyxiation"],
            "method_details": "удары резиновой дубинкой по стопам (фалака); пакет на голову",
            "injuries": "кровоподтёки на стопах, ссадины на запястьях",
            "apparent_purpose": "получение признательных показаний",
            "perpetrators": [{"type": "police", "institution": "Свердловский РОВД",
                              "unit": "уголовный розыск", "names": "ст. лейтенант Т. (фамилия известна)"}],
        }, {
            "date_from": "2025-03-12", "date_to": "2025-03-14", "place": "Свердловский РОВД",
            "violation": "denial_of_counsel",
            "perpetrators": [{"type": "police", "institution": "Свердловский РОВД"}],
        }],
        "medical": {
            "examinations": [{
                "date": "2025-03-17", "examiner": "Дж. Сулайманова, судебно-медицинский эксперт",
                "institution": "Республиканский центр судебно-медицинской экспертизы",
                "findings": "Кровоподтёки обеих стоп давностью 3–5 суток", "consistency": "highly_consistent",
            }],
            "treatment": "Обезболивающие, наблюдение травматолога",
            "current_condition": "Боли при ходьбе, нарушения сна",
        },
        # The whole domestic chain of a Kyrgyz torture case: crime report, the prosecutor's
        # refusal to open a case, the court appeal against it, the appeal (HRC exhaustion).
        "domestic_remedies": [{
            "type": "crime_report", "body": "Прокуратура Свердловского района г. Бишкек", "date": "2025-03-18",
            "action": "Заявление о пытках (ст. 143 УК КР)", "outcome": "Проведена доследственная проверка",
        }, {
            "type": "prosecutor_refusal", "body": "Прокуратура Свердловского района г. Бишкек",
            "date": "2025-04-17", "outcome": "Отказ в возбуждении уголовного дела", "decision_date": "2025-04-17",
        }, {
            "type": "court_appeal_refusal", "body": "Свердловский районный суд г. Бишкек (следственный судья)",
            "date": "2025-05-02", "action": "Жалоба на постановление об отказе в возбуждении уголовного дела",
            "outcome": "Жалоба оставлена без удовлетворения", "decision_date": "2025-06-12",
        }, {
            "type": "appeal", "body": "Бишкекский городской суд", "date": "2025-06-20",
            "action": "Апелляционная жалоба на постановление следственного судьи",
            "outcome": "Постановление оставлено без изменения", "decision_date": "2025-09-10",
        }],
        "final_decision_date": "2025-09-10",
        "violation_known_date": "2025-03-13",
        "against_state_body": True,
        "pending_in_court": False,
        "other_procedures_none": True,
        "claims": [
            {"instrument": "ICCPR", "article": "7", "explanation": "Пытки с целью получения признания"},
            {"instrument": "ICCPR", "article": "9", "explanation": "Задержание без оформления"},
            {"instrument": "ICCPR", "article": "14(3)(g)", "explanation": "Принуждение к признанию"},
            {"instrument": "CAT", "article": "1", "explanation": "Пытка"},
        ],
        "requests": {
            "omct_actions": [
                "guarantee the physical and psychological integrity of Mr Ömürbekov",
                "carry out a prompt, thorough and impartial investigation into the torture",
                "exclude the confession obtained under torture from the evidence",
            ],
            "remedy_sought": "Признать нарушение статей 7, 9 и 14 Пакта; провести расследование.",
            "interim_measures": {"requested": True,
                                 "reason": "Угрозы повторного насилия в месте содержания"},
        },
        "source": {
            "organisation": "Коалиция против пыток (Бишкек)", "contact_person": "Айгүл Жээнбекова",
            "relationship_to_victim": "адвокат", "email": "aigul@example.org", "phone": "+996 555 000 111",
            "address": "Бишкек, ул. Токтогула, 1", "may_be_named": True,
        },
        "applicant": {
            "full_name": "Айгүл Жээнбекова", "relationship_to_victim": "lawyer",
            "address": "Бишкек, Токтогул көчөсү, 1", "phone": "+996 555 000 111",
            "email": "aigul@example.org",
        },
        "authorisation": {"given": True, "given_by": "Өмүрбеков Н.Т.", "date": "2025-03-20"},
        "attachments": [
            {"item_id": "item-photo", "title": "Фото стоп, 17.03.2025", "category": "medical"},
            {"item_id": "item-auth", "title": "Доверенность", "category": "authorisation"},
            {"item_id": "item-decision", "title": "Постановление прокуратуры",
             "category": "domestic_decision"},
            {"item_id": "item-passport", "title": "Паспорт", "category": "identity"},
        ],
    })


def options(lang: str, variant: str | None = None, day: str = "2025-11-20") -> ExportOptions:
    return ExportOptions(language=lang, variant=variant, document_date=dt.date.fromisoformat(day))


ISSUED = "2026-12-02T10:00:00Z"


@dataclass(frozen=True)
class Kit:
    """An organisation as its paper kit makes it (docs/trust.md), with one admin the root certified."""

    secret: bytes
    org: trust.Organisation
    root_seed: bytes
    admin: crypto.UserKeys
    admin_chain: list

    def certify(self, keys: crypto.UserKeys, username: str, role: str = "lawyer", user_id: str = "u-1") -> list:
        """The chain [user's certificate, admin's certificate], as the server lists it for the user."""
        cert = trust.certify(self.admin.sign_seed, self.org, user_id, username, role, keys.box_public,
                             keys.sign_public, ISSUED)
        return [cert, *self.admin_chain]


def make_kit(admin_name: str = "admin") -> Kit:
    secret = crypto.random_key()
    root_seed = crypto.root_sign_seed(secret)
    org = trust.Organisation(crypto.box_public_from_secret(secret), crypto.sign_public_from_seed(root_seed))
    admin = crypto.UserKeys.generate()
    admin_cert = trust.certify(root_seed, org, "u-admin", admin_name, "admin", admin.box_public,
                               admin.sign_public, ISSUED)
    return Kit(secret, org, root_seed, admin, [admin_cert])


def make_item(keys: crypto.UserKeys, item_id: str, filename: str, data: bytes,
              evidence_type: str = "photo", uploader: str = "aigul",
              media_type: str = "application/octet-stream", sealed: dict | None = None,
              legacy_sealed: bool = False, certificates: list | None = None) -> ExportItem:
    """An evidence item with a manifest signed exactly as the client signs it.

    The manifest names its sealed fields by hash only (``sealed_sha256``), as
    vault.client.transfer.upload_file makes it; ``legacy_sealed`` puts the
    fields into the manifest itself, as clients did before that change.
    """
    sealed = {"description": "фото"} if sealed is None else sealed
    manifest = {
        "v": 1, "item_id": item_id, "case_id": "case-1", "sha256": crypto.sha256_hex(data),
        "size": len(data), "media_type": media_type, "filename": filename,
        "captured_at": "2025-03-17T10:00:00Z", "created_at": "2025-03-17T12:00:00Z",
        "uploader": uploader, "uploader_id": "u-1", "evidence_type": evidence_type,
        "attached_to": None, "sealed_sha256": None,
    }
    if sealed:
        manifest["sealed_sha256"] = crypto.seal_fields(crypto.random_key(), sealed, "case-1", item_id)[1]
    if legacy_sealed:
        del manifest["sealed_sha256"]
        manifest["sealed"] = sealed
    body = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode()
    return ExportItem(
        item_id=item_id, manifest=manifest, manifest_bytes=body,
        manifest_signature=keys.sign(body), uploader_sign_public=keys.sign_public,
        uploader=uploader, uploaded_at="2025-03-17T12:00:05Z",
        open=lambda: io.BytesIO(data), uploader_box_public=keys.box_public, uploader_certificates=certificates,
    )


def sample_items(keys: crypto.UserKeys, certificates: list | None = None) -> list[ExportItem]:
    c = certificates
    return [
        make_item(keys, "item-photo", "стопы_Өмүрбеков.jpg", b"\xff\xd8\xff" + b"photo" * 5000,
                  media_type="image/jpeg", certificates=c),
        make_item(keys, "item-auth", "доверенность.pdf", b"%PDF-1.4 authorisation", "document", certificates=c),
        make_item(keys, "item-decision", "../../постановление.pdf", b"%PDF-1.4 decision", "court_document",
                  certificates=c),
        make_item(keys, "item-passport", "passport.jpg", b"\xff\xd8\xff passport", "document", certificates=c),
    ]
