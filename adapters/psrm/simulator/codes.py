"""The error numbers the simulator answers with, and their Danish texts.

Numbers below 900 and their texts come from OpenDebt's list (`FordringErrorCode.java`), which
says it copies PSRM's own `dk.rim.is.api.enums.ErrorCode`; unverified, but 002 and 900 match
the EFI service description. Numbers from 990 up are the simulator's own, for outcomes whose
real number is not public.
"""

from __future__ import annotations

from adapters.psrm.messages import ReceiptError

TEXTS: dict[int, str] = {
    151: "Fordringen må ikke indberettes på denne DMIFordringTypeKode ifølge aftalen",
    152: "ValutaKode ifølge fordringhaveraftale skal være DKK",
    227: "Korrektion på kr. 0 ikke muligt",
    408: "Nedskrivningsbeløb skal være større end 0",
    409: "Virkningsdato skal være udfyldt",
    428: "Refereret fordringID eller hovedfordringID er afvist",
    459: "Underfordringstypen er ikke tilladt for fordringshaver",
    461: "HovedfordringsID ikke angivet eller eksisterende for relateret fordring",
    469: "FordringOpskrivningBeløb må ikke være forskellig fra nedskrivningsbeløbet",
    471: "OANI kræver at FordringNedskrivningÅrsagKode være INDB",
    473: "MFAktionIDRef skal pege på nedskriv aktion",
    474: "Der kan ikke indberettes opskrivningsfordringer på renter",
    477: "OONR kræver at FordringNedskrivningÅrsagKode være REGU",
    493: "Den refererede opskrivning/nedskrivning aktion er afvist",
    494: "FordringsID på aktionen matcher ikke den refererede aktion",
    496: "Opskrivning på en oprindelig fordring som er tilbagesendt tilbagekaldt eller returneret",
    498: "Nedskrivning på en fordringsID som er tilbagesendt tilbagekaldt eller returneret",
    502: "NAOR aktionens reference skal være OpskrivningRegulering eller OONR",
    503: "Der er allerede modtaget en annullering for denne aktion",
    504: "FordringNedskrivningBeløb skal være lig med opskrivningsbeløbet",
    506: "NAOI aktionens reference skal være af typen OANI",
    509: "FordringID er ikke kendt af Fordring",
    519: "REGU nedskrivning må ikke medsendes en virkningsdato",
    526: "MFAktionIDRef findes ikke",
    530: "Aktionen refererer til en fordring/aktion der er tilbagekaldt",
    539: "Genindsend fordring kræver at fordringen er tilbagekaldt med HENS KLAG BORD eller HAFT",
    540: "Genindsend fordring kræver at fordringen er tilbagekaldt",
    542: "Stamdata på aktionen der genindsendes er forskellig fra den oprindelige",
    544: "Der kan ikke genindsendes modregningsfordringer",
    546: "Virkningsdato må ikke være udfyldt ved tilbagekald med FEJL",
    548: "Fordringens virkningsdato må ikke være fremtidig",
    550: "Stamdata felter på fordringsaktionen mangler",
    # the simulator's own
    990: "Fordringen er afvist af indgangsfilteret",
    991: "Nedskrivningsbeløbet er større end fordringens restbeløb",
    992: "Fordringen er trukket tilbage fra høring af fordringshaver",
}

ENTRY_RULE = 990
ABOVE_BALANCE = 991
WITHDRAWN = 992
# Entry rules that PSRM reports under a numbered error of their own.
RULE_CODES = {"K_152": 152}


def error(code: int, detail: str | None = None, rule_id: str | None = None) -> ReceiptError:
    """Return the receipt error for `code`, its text followed by `detail` if given."""
    text = TEXTS[code] if detail is None else f"{TEXTS[code]}: {detail}"
    return ReceiptError(code=code, text=text, rule_id=rule_id)
