"""Demo content for the fictional newsroom "KI-Kompass": newsletters, articles and name pools.

All texts are original writing made up for this demo. Every person, company, school, clinic, court
and small town named in the articles is fictional; real cities and public bodies appear only in general terms.
Pure data, consumed by ``newsletter.demo``.
"""

from __future__ import annotations

from typing import Any

NEWSROOM: dict[str, str] = {
    "name": "KI-Kompass",
    "tagline": (
        "Unabhängiger Journalismus über künstliche Intelligenz – frei zugänglich für alle, "
        "getragen von unseren Leserinnen und Lesern."
    ),
    "postal_address": "KI-Kompass gUG (haftungsbeschränkt), Musterstraße 12, 10115 Berlin",
    "sender_email": "redaktion@ki-kompass.example",
    "domain": "ki-kompass.example",
}

# Exactly one newsletter is the default; the hidden one is for supporters only.
NEWSLETTERS: list[dict[str, Any]] = [
    {
        "slug": "ki-news-taeglich",
        "name": "KI-News täglich",
        "description": (
            "Die wichtigsten Nachrichten über künstliche Intelligenz, jeden Werktag um 7 Uhr in "
            "Ihrem Postfach. Kompakt eingeordnet von unserer Redaktion und in fünf Minuten gelesen."
        ),
        "public": True,
        "default": True,
    },
    {
        "slug": "wochenrueckblick",
        "name": "Wochenrückblick",
        "description": (
            "Jeden Samstag die Woche im Überblick: unsere meistgelesenen Artikel, ein Kommentar aus "
            "der Redaktion und Lesetipps aus anderen Medien."
        ),
        "public": True,
        "default": False,
    },
    {
        "slug": "ki-im-alltag",
        "name": "KI im Alltag",
        "description": (
            "Verständliche Erklärstücke und praktische Ratgeber, alle zwei Wochen: Was steckt "
            "hinter den Schlagworten, und wie nutzen Sie KI sicher und selbstbestimmt?"
        ),
        "public": True,
        "default": False,
    },
    {
        "slug": "foerderkreis-briefing",
        "name": "Förderkreis-Briefing",
        "description": (
            "Einmal im Monat exklusiv für Mitglieder unseres Förderkreises: Einblicke in die "
            "Redaktionsarbeit, geplante Recherchen und Abstimmungen über kommende Themen."
        ),
        "public": False,
        "default": False,
    },
]

# 30 articles; ``days_ago`` is counted back from the moment the demo is loaded.
# Exactly two are sponsored (partner content) and say so in title and first line.
ARTICLES: list[dict[str, Any]] = [
    {
        "slug": "ki-verordnung-aufsicht-deutschland",
        "title": "KI-Verordnung: Wer in Deutschland künftig die Aufsicht übernimmt",
        "teaser": (
            "Die europäische KI-Verordnung gilt, doch die nationale Aufsicht ist noch im Aufbau. "
            "Wir zeigen, welche Behörden zuständig werden und wo es noch hakt."
        ),
        "body": (
            "Die europäische KI-Verordnung, international meist AI Act genannt, tritt schrittweise "
            "in Kraft. Verbote für besonders riskante Anwendungen gelten bereits, weitere Pflichten "
            "folgen in Etappen. Damit die Regeln nicht nur auf dem Papier stehen, braucht jeder "
            "Mitgliedstaat Behörden, die Beschwerden annehmen, Produkte prüfen und notfalls "
            "Bußgelder verhängen.\n\n"
            "## Eine zentrale Stelle, viele Beteiligte\n\n"
            "In Deutschland soll die Bundesnetzagentur eine Schlüsselrolle übernehmen. Für "
            "bestimmte Bereiche bleiben jedoch die bisherigen Fachaufsichten zuständig – etwa bei "
            "Medizinprodukten oder im Finanzsektor. Aus Sicht vieler Unternehmen ist das "
            "vernünftig, weil dort das Fachwissen bereits vorhanden ist. Kritiker befürchten "
            "dagegen ein Zuständigkeitsgeflecht, in dem Verbraucherinnen und Verbraucher nicht "
            "wissen, an wen sie sich wenden sollen. „Für ein mittelständisches Softwarehaus ist die "
            "wichtigste Frage ganz praktisch: Wer beantwortet meine Anfrage, und wie lange dauert "
            "das?“, sagt Carola Henning, die als Rechtsanwältin kleinere Technologiefirmen berät. "
            "Sie rechnet damit, dass in der Anfangsphase vor allem Leitfäden und Musterdokumente "
            "gefragt sein werden.\n\n"
            "## Was Betriebe jetzt tun können\n\n"
            "Wer KI-Systeme entwickelt oder einsetzt, muss nicht auf die letzte "
            "Behördenentscheidung warten. Sinnvoll sind schon heute:\n\n"
            "- eine Übersicht aller KI-Anwendungen, die im Haus genutzt werden,\n"
            "- eine erste Einschätzung, ob eine davon als **Hochrisiko-System** gelten könnte,\n"
            "- Schulungen, damit Beschäftigte die Systeme kompetent und kritisch nutzen.\n\n"
            "Die Grundzüge der Verordnung erklärt [unser Überblick zum AI "
            "Act](https://ki-kompass.example/artikel/ki-act-erklaert). Wir begleiten die Umsetzung "
            "weiter und freuen uns über Hinweise aus der Praxis."
        ),
        "author": "Jonas Weidemann",
        "tags": ["regulierung", "verwaltung", "wirtschaft"],
        "days_ago": 2,
        "image_credit": "Foto: Jonas Weidemann / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "ki-act-erklaert",
        "title": "Der AI Act in fünf Minuten: Was die KI-Verordnung regelt",
        "teaser": (
            "Risikoklassen, Verbote, Transparenzpflichten: Unser Erklärstück ordnet die europäische "
            "KI-Verordnung ein – ganz ohne Juristendeutsch."
        ),
        "body": (
            "Die KI-Verordnung der Europäischen Union ist das erste umfassende Gesetz, das "
            "künstliche Intelligenz quer durch alle Branchen regelt. Ihr Grundgedanke ist einfach: "
            "Je größer das Risiko einer Anwendung für Gesundheit, Sicherheit oder Grundrechte, "
            "desto strenger die Auflagen.\n\n"
            "## Vier Stufen des Risikos\n\n"
            "- **Unannehmbares Risiko:** Bestimmte Praktiken sind verboten, etwa Systeme, die "
            "Menschen anhand ihres sozialen Verhaltens bewerten und benachteiligen.\n"
            "- **Hohes Risiko:** Dazu zählen zum Beispiel KI-Systeme, die über Kredite, Bewerbungen "
            "oder den Zugang zu Bildung mitentscheiden. Sie brauchen Risikomanagement, "
            "Dokumentation und menschliche Aufsicht.\n"
            "- **Begrenztes Risiko:** Hier geht es vor allem um Transparenz. Wer mit einem Chatbot "
            "spricht, soll das wissen; künstlich erzeugte Inhalte sollen erkennbar sein.\n"
            "- **Minimales Risiko:** Spamfilter oder KI in Videospielen bleiben weitgehend "
            "unreguliert.\n\n"
            "## Sonderregeln für große Modelle\n\n"
            "Eigene Pflichten gelten für sogenannte KI-Modelle mit allgemeinem Verwendungszweck, "
            "also die großen Sprach- und Bildmodelle, auf denen viele Anwendungen aufbauen. Ihre "
            "Anbieter müssen unter anderem technische Unterlagen bereitstellen und darlegen, wie "
            "sie mit dem Urheberrecht umgehen.\n\n"
            "Die Regeln treten gestaffelt in Kraft, damit sich Behörden und Unternehmen vorbereiten "
            "können. Ob die Verordnung ihr Versprechen einlöst, Innovation zu ermöglichen und "
            "zugleich Menschen zu schützen, wird sich erst in der Praxis zeigen. Wir halten Sie auf "
            "dem Laufenden – im täglichen Newsletter und in unserem Wochenrückblick."
        ),
        "author": "Friederike Voß",
        "tags": ["regulierung", "grundlagen"],
        "days_ago": 40,
        "image_credit": "Grafik: Jana Feldmann / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "schule-ki-tutor-kassel",
        "title": "Mathe mit Maschine: Eine Kasseler Schule testet den KI-Tutor",
        "teaser": (
            "Seit einem Halbjahr üben Achtklässler an einer Kasseler Gesamtschule mit einem "
            "KI-Lernassistenten. Die Lehrkräfte sind angetan – und bleiben trotzdem wachsam."
        ),
        "body": (
            "Es ist kurz nach acht, und in Raum 214 ist es ungewöhnlich still. Die Schülerinnen und "
            "Schüler der 8b sitzen vor ihren Tablets und lösen lineare Gleichungen. Wer nicht "
            "weiterkommt, tippt eine Frage in ein Textfeld – und bekommt keine Lösung, sondern "
            "einen Hinweis. „Genau das war uns wichtig“, sagt Mathematiklehrer Stefan Lorenz. „Der "
            "Assistent soll zum Nachdenken bringen, nicht das Denken abnehmen.“\n\n"
            "Bevor die Gesamtschule Am Mühlenberg mit dem Pilotprojekt beginnen durfte, vergingen "
            "fast neun Monate. Schulleitung, Elternvertretung und der Datenschutzbeauftragte des "
            "Schulträgers verhandelten über Serverstandorte, Löschfristen und darüber, welche Daten "
            "der Anbieter überhaupt sehen darf. Das Ergebnis: Die Jugendlichen melden sich mit "
            "Pseudonymen an, Chatverläufe werden nach Ende des Schuljahres gelöscht.\n\n"
            "Die ersten Erfahrungen fallen gemischt, aber überwiegend positiv aus. Schwächere "
            "Schülerinnen und Schüler trauen sich eher, Fragen zu stellen, berichtet Lorenz. "
            "Gleichzeitig beobachtet er, dass manche den Assistenten so lange löchern, bis er doch "
            "fast die Lösung verrät. „Wir mussten erst lernen, gute Aufgaben für dieses Werkzeug zu "
            "stellen.“\n\n"
            "Die Elternsprecherin Nadine Kowalski sieht das Projekt differenziert. Sie begrüßt, "
            "dass die Schule neue Wege geht, warnt aber davor, KI als Ersatz für fehlendes Personal "
            "zu betrachten. „Ein Tutor auf dem Tablet ersetzt keine Lehrerin, die merkt, dass ein "
            "Kind gerade andere Sorgen hat.“ Eine Auswertung des Pilotversuchs soll im Sommer "
            "vorliegen. Dann entscheidet die Schulkonferenz, ob der Tutor auch in weiteren "
            "Jahrgängen eingesetzt wird."
        ),
        "author": "Aylin Demir",
        "tags": ["bildung", "lokal", "datenschutz"],
        "days_ago": 5,
        "image_credit": "Foto: Aylin Demir / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "klinikum-radiologie-ki-triage",
        "title": "Zweiter Blick aus dem Rechner: KI sortiert Röntgenbilder im Klinikum",
        "teaser": (
            "Im Klinikum Weserbergland markiert eine Software auffällige Röntgenaufnahmen, damit "
            "dringende Fälle schneller begutachtet werden. Die Diagnose stellen weiterhin Menschen."
        ),
        "body": (
            "Nachts um drei ist die Radiologie des Klinikums Weserbergland nur dünn besetzt. "
            "Gleichzeitig kommen aus der Notaufnahme laufend neue Aufnahmen: Stürze, Atemnot, "
            "Verdacht auf Lungenentzündung. Seit vergangenem Herbst hilft eine Software dabei, die "
            "Reihenfolge festzulegen. Sie analysiert jedes Röntgenbild des Brustkorbs und setzt "
            "Aufnahmen mit möglichen Auffälligkeiten – etwa einem Lungenkollaps – in der "
            "Arbeitsliste nach oben.\n\n"
            "„Die Software stellt keine Diagnosen“, betont Chefarzt Dr. Henrik Stahl. „Sie sagt uns "
            "nur: Schaut euch dieses Bild bitte zuerst an.“ Jede Aufnahme wird weiterhin von einer "
            "Fachärztin oder einem Facharzt befundet. Das System ist als Medizinprodukt "
            "zertifiziert; die Klinik hat es vor dem Einsatz mehrere Wochen im Hintergrund "
            "mitlaufen lassen und die Ergebnisse mit den eigenen Befunden verglichen.\n\n"
            "Nach internen Auswertungen ist die Zeit bis zur Befundung dringender Fälle in den "
            "Nachtstunden spürbar gesunken. Genaue Zahlen will das Klinikum erst nach Abschluss "
            "einer Begleitstudie veröffentlichen. Stahl räumt ein, dass die Technik auch neue "
            "Probleme schafft: Fehlalarme kosten Zeit, und Assistenzärztinnen und -ärzte müssen "
            "lernen, dem Programm nicht blind zu vertrauen. „Wer nachts müde ist, lässt sich "
            "leichter von einer Markierung leiten. Das sprechen wir in jeder Einarbeitung offen "
            "an.“\n\n"
            "Patientenvertreter fordern mehr Transparenz. Wer in einem Krankenhaus behandelt werde, "
            "solle erfahren können, ob und wie KI an der Versorgung beteiligt war. Das Klinikum "
            "will dazu einen Hinweis in die Patienteninformation aufnehmen und die Ergebnisse der "
            "Begleitstudie öffentlich vorstellen."
        ),
        "author": "Matthias Kröger",
        "tags": ["gesundheit", "forschung"],
        "days_ago": 9,
        "image_credit": "Foto: Klinikum Weserbergland",
        "sponsored": False,
    },
    {
        "slug": "buergeramt-chatbot-lindenfeld",
        "title": "„Wo beantrage ich meinen Reisepass?“ – Ein Chatbot fürs Bürgeramt",
        "teaser": (
            "Die Stadt Lindenfeld beantwortet Fragen zu Ausweis, Wohngeld und Sperrmüll jetzt auch "
            "per Chatbot. Nach drei Monaten zieht die Verwaltung eine erste Bilanz."
        ),
        "body": (
            "Wer in Lindenfeld einen neuen Personalausweis braucht, musste bisher entweder die "
            "Hotline anrufen oder sich durch die Website der Stadt klicken. Seit Jahresbeginn gibt "
            "es eine dritte Möglichkeit: einen Chatbot, der rund um die Uhr Fragen zu häufigen "
            "Verwaltungsleistungen beantwortet. Er heißt „Linda“ und ist nach Angaben der Stadt "
            "bereits mehr als 14.000 Mal genutzt worden.\n\n"
            "Hinter Linda steckt ein Sprachmodell, das ausschließlich auf geprüfte Texte der "
            "Stadtverwaltung zugreifen darf. Jede Antwort enthält einen Link auf die passende Seite "
            "im Serviceportal. „Wir wollten verhindern, dass der Bot Gebühren oder Öffnungszeiten "
            "erfindet“, erklärt Digitalisierungsleiterin Martina Kühn. Persönliche Daten soll "
            "niemand eingeben; darauf weist ein Hinweis über dem Eingabefeld hin.\n\n"
            "Die Auswertung der ersten drei Monate zeigt, was die Menschen in Lindenfeld wirklich "
            "umtreibt:\n\n"
            "- Termine für Personalausweis und Reisepass,\n"
            "- die Anmeldung des Wohnsitzes nach einem Umzug,\n"
            "- Sperrmüll und Grünschnitt,\n"
            "- Wohngeld und die nötigen Unterlagen.\n\n"
            "Nicht alles funktioniert reibungslos. Bei komplizierten Einzelfällen, etwa zu "
            "Aufenthaltstiteln, verweist Linda inzwischen direkt an die Sachbearbeitung, nachdem "
            "sich Nutzer über zu allgemeine Antworten beschwert hatten. Der Personalrat begleitet "
            "das Projekt kritisch, sieht bislang aber keine Gefahr für Arbeitsplätze. Im Gegenteil: "
            "Die Hotline meldet weniger Routineanrufe und hat mehr Zeit für schwierige Anliegen. Ob "
            "sich die Investition langfristig rechnet, soll eine Evaluation im Herbst zeigen."
        ),
        "author": "Paul Sänger",
        "tags": ["verwaltung", "lokal", "datenschutz"],
        "days_ago": 12,
        "image_credit": "Foto: Stadt Lindenfeld",
        "sponsored": False,
    },
    {
        "slug": "rechenzentren-strom-abwaerme",
        "title": "Hunger nach Strom: Wie viel Energie KI-Rechenzentren verbrauchen",
        "teaser": (
            "Der Boom der KI-Anwendungen lässt den Strombedarf von Rechenzentren steigen. Im "
            "Rhein-Main-Gebiet wird darüber gestritten, wer die Netze bezahlt und wer die Abwärme "
            "nutzen darf."
        ),
        "body": (
            "Von außen sieht man ihnen wenig an: fensterlose Hallen, Kühlaggregate auf dem Dach, "
            "ein hoher Zaun. Doch in den Rechenzentren rund um Frankfurt am Main laufen Tausende "
            "Server, die zunehmend für das Training und den Betrieb von KI-Modellen genutzt werden. "
            "Und die brauchen vor allem eines: Strom.\n\n"
            "Wie groß der Anteil der KI am gesamten Verbrauch ist, lässt sich schwer beziffern, "
            "weil Betreiber selten offenlegen, welche Kunden ihre Anlagen nutzen. Fest steht: "
            "Spezialisierte Grafikprozessoren verbrauchen deutlich mehr Energie als klassische "
            "Server, und sie erzeugen mehr Wärme. Netzbetreiber in der Region berichten von "
            "Anschlussanfragen in der Größenordnung einer Kleinstadt. „Die Netze sind nicht für "
            "diesen Sprung gebaut worden“, sagt die Energieökonomin Dr. Katrin Seidel, die an einer "
            "hessischen Hochschule zu Infrastrukturfragen forscht. Sie plädiert dafür, neue "
            "Rechenzentren gezielt dort anzusiedeln, wo viel erneuerbarer Strom verfügbar ist.\n\n"
            "Mehrere Kommunen setzen zudem auf die Abwärme. Ein Neubaugebiet in der Region soll "
            "künftig teilweise mit der Wärme eines benachbarten Rechenzentrums beheizt werden. Das "
            "klingt einfacher, als es ist: Die Wärme fällt auf niedrigem Temperaturniveau an und "
            "muss mit Wärmepumpen aufbereitet werden. Außerdem braucht es Verträge, die über "
            "Jahrzehnte halten – länger, als manche Serverhalle überhaupt in Betrieb ist.\n\n"
            "Was eine einzelne Chatbot-Anfrage an Energie kostet, bleibt für Verbraucherinnen und "
            "Verbraucher schwer zu beantworten. Klar ist nur: Wer KI bewusst nutzt und nicht für "
            "jede Kleinigkeit ein großes Modell bemüht, spart Ressourcen. Mehr dazu lesen Sie in "
            "unserem Text über [kleine, sparsame "
            "Modelle](https://ki-kompass.example/artikel/kleine-modelle-sparsam)."
        ),
        "author": "Jonas Weidemann",
        "tags": ["energie", "klima", "wirtschaft"],
        "days_ago": 15,
        "image_credit": "Foto: Jonas Weidemann / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "open-weight-modelle-erklaert",
        "title": "Offen, aber nicht ganz: Was „Open-Weight“-Modelle wirklich sind",
        "teaser": (
            "Immer mehr KI-Firmen veröffentlichen die Gewichte ihrer Modelle. Das ist ein Gewinn "
            "für Forschung und Mittelstand – aber nicht dasselbe wie Open Source."
        ),
        "body": (
            "In Pressemitteilungen ist schnell von „offenen“ Modellen die Rede. Gemeint sind meist "
            "sogenannte Open-Weight-Modelle: Die Anbieter stellen die trainierten Parameter – die "
            "Gewichte – zum Herunterladen bereit. Wer über ausreichend Rechenleistung verfügt, kann "
            "das Modell damit auf eigenen Servern betreiben, anpassen und in Produkte einbauen.\n\n"
            "## Was offen ist und was nicht\n\n"
            "Für echte Offenheit im Sinne von Open-Source-Software fehlt jedoch oft einiges. Häufig "
            "bleiben geheim:\n\n"
            "- die genauen **Trainingsdaten** und ihre Herkunft,\n"
            "- der vollständige Code, mit dem das Modell trainiert wurde,\n"
            "- die Kriterien, nach denen Daten ausgewählt und gefiltert wurden.\n\n"
            "Hinzu kommen Lizenzen, die bestimmte Nutzungen ausschließen oder ab einer gewissen "
            "Nutzerzahl eine gesonderte Vereinbarung verlangen. „Man bekommt das fertige Gericht, "
            "aber nicht das Rezept“, sagt der Informatiker Bastian Ehlers, der an einem Dresdner "
            "Forschungsinstitut offene KI-Systeme untersucht.\n\n"
            "## Warum das für Deutschland wichtig ist\n\n"
            "Trotz dieser Einschränkungen sind Open-Weight-Modelle für viele Organisationen "
            "attraktiv. Behörden, Kliniken und Unternehmen können sie betreiben, ohne sensible "
            "Daten an einen Cloud-Dienst außerhalb der EU zu schicken, und Forschende können "
            "Schwachstellen aufdecken. Kritiker warnen, dass frei verfügbare Modelle auch "
            "missbraucht werden können, etwa für massenhafte Desinformation. Befürworter halten "
            "dagegen, dass Transparenz langfristig mehr Sicherheit schafft als Geheimhaltung. Die "
            "Debatte wird uns noch lange begleiten – auch weil die KI-Verordnung für offene Modelle "
            "einige Erleichterungen vorsieht."
        ),
        "author": "Friederike Voß",
        "tags": ["open-source", "grundlagen", "forschung"],
        "days_ago": 20,
        "image_credit": None,
        "sponsored": False,
    },
    {
        "slug": "berliner-startup-klarsatz-leichte-sprache",
        "title": "Berliner Start-up übersetzt Behördenbriefe in Leichte Sprache",
        "teaser": (
            "Das Kreuzberger Gründerteam von Klarsatz will amtliche Schreiben für alle verständlich "
            "machen. Geprüft wird jeder Text trotzdem von Menschen."
        ),
        "body": (
            "Der Brief vom Jobcenter umfasst vier Seiten, enthält sieben Verweise auf Paragrafen "
            "und einen Satz mit 63 Wörtern. Für viele Menschen ist ein solches Schreiben kaum zu "
            "verstehen – für Menschen mit Lernschwierigkeiten oder geringen Deutschkenntnissen erst "
            "recht. Hier setzt Klarsatz an, ein junges Unternehmen aus Berlin-Kreuzberg.\n\n"
            "Die drei Gründerinnen und Gründer haben ein System entwickelt, das amtliche Texte in "
            "Leichte oder Einfache Sprache überträgt. Grundlage ist ein Open-Weight-Sprachmodell, "
            "das das Team mit Tausenden Beispieltexten nachtrainiert hat. „Das Modell liefert einen "
            "Entwurf, mehr nicht“, sagt Mitgründerin Jana Okafor. Jeder Text wird anschließend von "
            "geschulten Prüferinnen und Prüfern gelesen, die selbst Lernschwierigkeiten haben. Erst "
            "wenn sie ihn verstehen, geht er hinaus.\n\n"
            "Angefangen hat alles mit einem Hackathon vor zwei Jahren. Inzwischen beschäftigt "
            "Klarsatz zwölf Festangestellte und hat erste Aufträge von zwei Landkreisen und einer "
            "Krankenkasse. Eine Förderung aus einem Landesprogramm half über die ersten Monate, "
            "eine größere Finanzierungsrunde ist in Vorbereitung.\n\n"
            "Auf die Frage, ob die KI die menschliche Prüfung nicht irgendwann überflüssig mache, "
            "schüttelt Okafor den Kopf. „Leichte Sprache ist ein Recht, keine Stilübung. Wenn ein "
            "Fehler drinsteht, verliert jemand vielleicht Geld oder eine Frist.“ Das Unternehmen "
            "zahlt den Prüfgruppen deshalb feste Honorare. Verbände für Leichte Sprache verfolgen "
            "das Projekt mit Interesse, mahnen aber, dass Qualität und echte Beteiligung wichtiger "
            "seien als Tempo."
        ),
        "author": "Aylin Demir",
        "tags": ["startups", "inklusion", "verwaltung"],
        "days_ago": 3,
        "image_credit": "Foto: Klarsatz GmbH",
        "sponsored": False,
    },
    {
        "slug": "deepfakes-wahlkampf-landtagswahl",
        "title": "Gefälschte Stimmen im Wahlkampf: Wie sich Parteien gegen Deepfakes wappnen",
        "teaser": (
            "Kurz vor der Landtagswahl kursiert ein manipuliertes Audio eines Kandidaten. Der Fall "
            "zeigt, wie schnell Deepfakes den Wahlkampf erreichen – und was dagegen hilft."
        ),
        "body": (
            "Die Sprachnachricht verbreitete sich an einem Freitagabend in mehreren "
            "Messenger-Gruppen. Zu hören war scheinbar ein Landtagskandidat, der sich abfällig über "
            "Pendlerinnen und Pendler äußerte. Innerhalb weniger Stunden wurde die Datei "
            "tausendfach weitergeleitet. Erst am nächsten Morgen stellte sich heraus: Die Stimme "
            "war mit einer frei verfügbaren Software künstlich erzeugt worden.\n\n"
            "Fachleute für digitale Forensik beobachten, dass gefälschte Audios inzwischen ein "
            "größeres Problem sind als Videos. „Für eine überzeugende Stimmkopie reichen oft wenige "
            "Minuten Originalaufnahmen, und davon gibt es von Politikern reichlich“, sagt die "
            "Medienwissenschaftlerin Dr. Ulrike Brandes. Anders als bei Videos fehlen bei "
            "Audiodateien viele Hinweise, an denen man eine Fälschung erkennen könnte.\n\n"
            "Die betroffene Partei reagierte mit einem Video des Kandidaten, in dem er die Aufnahme "
            "zurückwies, und erstattete Anzeige. Mehrere Parteien haben sich zudem verpflichtet, "
            "keine KI-generierten Inhalte über politische Gegner ohne Kennzeichnung zu verbreiten. "
            "Wählerinnen und Wählern rät Brandes zu einfachen Regeln:\n\n"
            "- **Innehalten**, bevor man eine empörende Nachricht weiterleitet.\n"
            "- Nach der Quelle fragen: Wer hat das aufgenommen, wann und wo?\n"
            "- Prüfen, ob seriöse Medien über den Vorfall berichten.\n\n"
            "Die KI-Verordnung der EU verpflichtet dazu, Deepfakes als solche zu kennzeichnen. "
            "Gegen anonyme Urheber in geschlossenen Messenger-Gruppen hilft das allerdings wenig. "
            "Entscheidend bleiben deshalb eine aufmerksame Öffentlichkeit und Redaktionen, die "
            "schnell und sorgfältig prüfen."
        ),
        "author": "Matthias Kröger",
        "tags": ["demokratie", "medien", "regulierung"],
        "days_ago": 1,
        "image_credit": "Illustration: Jana Feldmann / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "mittelstand-ki-maschinenbau-alb",
        "title": "Zwischen Drehbank und Datenmodell: KI im schwäbischen Mittelstand",
        "teaser": (
            "Ein Antriebshersteller von der Schwäbischen Alb setzt KI in Wartung und Vertrieb ein. "
            "Entlassen wurde niemand – aber fast jeder Arbeitsplatz hat sich verändert."
        ),
        "body": (
            "Wenn bei Häberle Antriebstechnik ein Getriebe zu vibrieren beginnt, weiß es die "
            "Software oft vor dem Meister. Sensoren an den Prüfständen liefern Messdaten, ein "
            "Modell erkennt Muster, die auf Verschleiß hindeuten. „Früher haben wir nach Gehör und "
            "Erfahrung gearbeitet“, sagt Werkstattleiter Günther Maier, seit 31 Jahren im Betrieb. "
            "„Die Erfahrung brauchen wir immer noch. Aber jetzt hören wir früher hin.“\n\n"
            "Das Familienunternehmen mit rund 240 Beschäftigten ist kein Technologiekonzern. Umso "
            "bemerkenswerter ist, wie pragmatisch es KI einsetzt. Neben der vorausschauenden "
            "Wartung hilft inzwischen ein Sprachmodell dabei, Kundenanfragen zu sortieren und erste "
            "Angebotsentwürfe zu erstellen, die der Vertrieb anschließend prüft und ergänzt.\n\n"
            "## Weiterbildung statt Entlassung\n\n"
            "Geschäftsführerin Annette Häberle hat früh entschieden, dass die neuen Werkzeuge keine "
            "Stellen kosten sollen. Stattdessen investiert der Betrieb in Schulungen: Jede "
            "Abteilung hat eine „KI-Lotsin“ oder einen „KI-Lotsen“, die Fragen beantworten und "
            "Erfahrungen sammeln. Der Betriebsrat war von Anfang an eingebunden und hat eine "
            "Vereinbarung zur Nutzung der Daten ausgehandelt. Nicht alle Erwartungen haben sich "
            "erfüllt: Ein Projekt zur automatischen Qualitätskontrolle per Kamera wurde nach einem "
            "Jahr gestoppt, weil die Fehlerquote zu hoch blieb. „Auch das gehört dazu“, sagt "
            "Häberle. „Wir probieren aus, messen und hören auf, wenn es nichts bringt.“\n\n"
            "## Ein Muster für die Branche?\n\n"
            "Branchenverbände berichten, dass viele kleine und mittlere Unternehmen zögern – aus "
            "Sorge vor Kosten, Datenschutzfragen und fehlendem Fachpersonal. Das Beispiel von der "
            "Alb zeigt, dass der Einstieg nicht mit einem Großprojekt beginnen muss, sondern mit "
            "einem **konkreten Problem**, das im Alltag wirklich stört."
        ),
        "author": "Paul Sänger",
        "tags": ["arbeit", "wirtschaft"],
        "days_ago": 7,
        "image_credit": "Foto: Paul Sänger / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "urheberrecht-trainingsdaten-kreative",
        "title": "Wem gehören die Trainingsdaten? Kreative fordern Mitsprache",
        "teaser": (
            "Illustratorinnen, Fotografen und Autorinnen wehren sich dagegen, dass ihre Werke "
            "ungefragt zum Training von KI genutzt werden. Die Rechtslage ist komplizierter, als "
            "beide Seiten oft behaupten."
        ),
        "body": (
            "Die Illustratorin Merle Jansen entdeckte es durch Zufall: Ein Bildgenerator lieferte "
            "auf Anfrage Motive, die ihrem unverwechselbaren Stil verblüffend ähnelten – bis hin zu "
            "den typischen Farbverläufen. „Ich habe nie zugestimmt, dass meine Bilder dafür "
            "verwendet werden“, sagt sie. So wie ihr geht es vielen Kreativen.\n\n"
            "## Was das Gesetz sagt\n\n"
            "Das deutsche Urheberrecht kennt eine Ausnahme für das sogenannte Text- und "
            "Data-Mining. Sie erlaubt es grundsätzlich, rechtmäßig zugängliche Werke automatisiert "
            "auszuwerten. Rechteinhaber können dem jedoch widersprechen, bei online verfügbaren "
            "Werken allerdings nur in maschinenlesbarer Form. Genau hier beginnt der Streit: Was "
            "gilt als maschinenlesbar? Reicht ein Hinweis im Impressum, oder braucht es einen "
            "technischen Vermerk, den Programme automatisch auslesen können?\n\n"
            "Auch die KI-Verordnung der EU greift das Thema auf. Anbieter großer Modelle müssen "
            "eine Strategie zur Einhaltung des Urheberrechts vorweisen und eine Zusammenfassung der "
            "Inhalte veröffentlichen, mit denen sie trainiert haben. Wie detailliert diese "
            "ausfallen muss, ist umstritten.\n\n"
            "## Vergütung als Ausweg?\n\n"
            "Verbände der Kreativwirtschaft fordern ein Vergütungsmodell, ähnlich wie bei "
            "Privatkopien, für die über Abgaben auf Geräte ein Ausgleich gezahlt wird. "
            "KI-Unternehmen verweisen dagegen auf die Innovationskraft ihrer Branche und warnen vor "
            "einem Standortnachteil für Europa. Für Merle Jansen ist die Sache klar: „Wer mit "
            "meiner Arbeit Geld verdient, soll mich fragen und bezahlen.“ Bis es dazu verbindliche "
            "Regeln gibt, hat sie auf ihrer Website einen maschinenlesbaren Nutzungsvorbehalt "
            "eingerichtet. Ob sich KI-Firmen daran halten, kann sie allerdings kaum überprüfen."
        ),
        "author": "Lena Brandt",
        "tags": ["urheberrecht", "kultur", "regulierung"],
        "days_ago": 11,
        "image_credit": "Foto: Merle Jansen (privat)",
        "sponsored": False,
    },
    {
        "slug": "chatbots-kundenservice-umfrage",
        "title": "„Ich verbinde Sie mit einem Menschen“ – Chatbots im Kundenservice",
        "teaser": (
            "Energieversorger, Versicherungen und Onlinehändler setzen auf KI-Assistenten im "
            "Kundendienst. Unsere Leserumfrage zeigt: Die Geduld vieler Kundinnen und Kunden ist "
            "begrenzt."
        ),
        "body": (
            "Anruf bei den Stadtwerken, weil sich die Abschlagszahlung ändern soll: Früher hieß das "
            "Warteschleife. Heute meldet sich oft zuerst eine freundliche Computerstimme oder ein "
            "Chatfenster auf der Website. Immer mehr Unternehmen setzen im Kundenservice auf "
            "KI-Assistenten, die Fragen verstehen, Vertragsdaten abrufen und einfache Änderungen "
            "selbst erledigen.\n\n"
            "Wir wollten wissen, wie das bei Ihnen ankommt, und haben unsere Leserinnen und Leser "
            "gefragt. Mehr als 1.100 haben geantwortet. Die Umfrage ist nicht repräsentativ, "
            "zeichnet aber ein deutliches Bild:\n\n"
            "- Für einfache Anliegen wie Adressänderungen finden die meisten Chatbots praktisch.\n"
            "- Bei Beschwerden oder Fehlern in der Abrechnung wünschen sich fast alle einen "
            "Menschen.\n"
            "- Besonders ärgerlich: Bots, die nicht verraten, wie man zu einer echten Mitarbeiterin "
            "gelangt.\n\n"
            "Die Verbraucherberaterin Heike Sommer hält Chatbots nicht grundsätzlich für schlecht. "
            "„Problematisch wird es, wenn sie als Mauer eingesetzt werden, um Kundinnen und Kunden "
            "abzuwimmeln.“ Gute Systeme erkennen, wann sie an ihre Grenzen stoßen, und übergeben "
            "das Gespräch samt Verlauf an einen Menschen – damit niemand alles noch einmal erzählen "
            "muss.\n\n"
            "Für die Beschäftigten im Kundenservice verändert sich die Arbeit spürbar. Die "
            "einfachen Fälle übernimmt die Maschine, übrig bleiben die schwierigen, oft emotional "
            "aufgeladenen Gespräche. Gewerkschaften fordern deshalb, dass Unternehmen die gewonnene "
            "Zeit in Schulung und Entlastung investieren. Ab wann ein Unternehmen offenlegen muss, "
            "dass Sie mit einer KI sprechen, erklären wir [in unserem Überblick zur "
            "KI-Verordnung](https://ki-kompass.example/artikel/ki-act-erklaert)."
        ),
        "author": "Lena Brandt",
        "tags": ["verbraucher", "arbeit", "wirtschaft"],
        "days_ago": 18,
        "image_credit": "Illustration: Jana Feldmann / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "ki-generierte-bilder-erkennen",
        "title": "So erkennen Sie KI-generierte Bilder",
        "teaser": (
            "Makellose Haut, seltsame Hände, unlesbare Schilder: Mit diesen Tipps entlarven Sie "
            "viele künstlich erzeugte Fotos – und erfahren, wo die Grenzen liegen."
        ),
        "body": (
            "Ein Minister im Schlafanzug, eine Explosion vor einem Regierungsgebäude, eine "
            "Schauspielerin beim Einkaufen: Künstlich erzeugte Bilder sind inzwischen so gut, dass "
            "sie selbst geübte Augen täuschen. Trotzdem gibt es Hinweise, die bei der Prüfung "
            "helfen.\n\n"
            "## Genau hinschauen\n\n"
            "- **Hände und Zähne:** Zu viele oder verschmolzene Finger sind seltener geworden, "
            "kommen aber vor. Auch Zahnreihen wirken manchmal unnatürlich gleichmäßig.\n"
            "- **Schrift im Bild:** Schilder, Plakate und Nummernschilder enthalten oft "
            "Buchstabensalat.\n"
            "- **Hintergründe:** Achten Sie auf Gegenstände, die ineinander übergehen, oder "
            "Geländer, die ins Nichts führen.\n"
            "- **Licht und Schatten:** Fallen Schatten in unterschiedliche Richtungen, ist Vorsicht "
            "geboten.\n"
            "- **Zu perfekt:** Porenlose Haut und ein gleichmäßiger Glanz sind typisch für viele "
            "Bildgeneratoren.\n\n"
            "## Den Kontext prüfen\n\n"
            "Wichtiger als jedes Detail ist oft die Frage nach der Herkunft. Eine umgekehrte "
            "Bildersuche zeigt, wo ein Foto zuerst aufgetaucht ist. Wenn ein spektakuläres Ereignis "
            "nur auf einem einzigen Account zu sehen ist und keine Nachrichtenagentur darüber "
            "berichtet, sollten Sie skeptisch bleiben. Manche Kameras und Plattformen fügen "
            "inzwischen Herkunftsnachweise in die Metadaten ein, die sich mit entsprechenden "
            "Werkzeugen auslesen lassen.\n\n"
            "## Keine Garantie\n\n"
            "Sogenannte KI-Detektoren versprechen schnelle Gewissheit, liegen aber regelmäßig "
            "daneben – in beide Richtungen. Verlassen Sie sich deshalb nie auf ein einziges "
            "Werkzeug. Die ehrlichste Antwort lautet manchmal: Es lässt sich nicht sicher sagen.\n\n"
            "Unsere ausführliche Checkliste zum Ausdrucken finden Sie unter "
            "[ki-kompass.example/ratgeber/bilder-pruefen](https://ki-kompass.example/ratgeber/bilder-pruefen)."
        ),
        "author": "Friederike Voß",
        "tags": ["ratgeber", "medien", "demokratie"],
        "days_ago": 25,
        "image_credit": "Illustration: Jana Feldmann / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "was-ist-ein-sprachmodell",
        "title": "Was ist eigentlich ein Sprachmodell?",
        "teaser": (
            "Chatbots wirken oft, als würden sie uns verstehen. Tatsächlich berechnen sie "
            "Wahrscheinlichkeiten. Eine Erklärung ganz ohne Formeln."
        ),
        "body": (
            "Wer mit einem Chatbot schreibt, hat schnell das Gefühl, mit einem denkenden Gegenüber "
            "zu sprechen. Die Antworten sind flüssig, höflich und oft erstaunlich treffend. Doch "
            "was passiert dabei eigentlich im Inneren?\n\n"
            "## Das nächste Wort vorhersagen\n\n"
            "Im Kern ist ein Sprachmodell ein Programm, das eine einzige Aufgabe sehr gut "
            "beherrscht: Es sagt voraus, welches Wortstück in einem Text als Nächstes am "
            "wahrscheinlichsten folgt. Um das zu lernen, wurde es mit riesigen Mengen an Texten "
            "trainiert – Büchern, Websites, Artikeln. Dabei hat es keine Fakten auswendig gelernt "
            "wie ein Lexikon, sondern statistische Muster: welche Wörter zusammen auftreten, wie "
            "Sätze gebaut sind, wie Argumente typischerweise verlaufen. Schreibt man „Die "
            "Hauptstadt von Frankreich ist …“, ist „Paris“ die mit Abstand wahrscheinlichste "
            "Fortsetzung. Aus vielen solchen Schritten, Wortstück für Wortstück, entsteht eine "
            "ganze Antwort.\n\n"
            "## Warum Sprachmodelle sich irren\n\n"
            "Daraus erklärt sich auch ihre größte Schwäche. Ein Sprachmodell prüft nicht, ob etwas "
            "wahr ist, sondern ob es plausibel klingt. Fehlen ihm Informationen, erfindet es "
            "mitunter Quellen, Zahlen oder Zitate, die überzeugend wirken. Fachleute sprechen dann "
            "von **Halluzinationen**. Moderne Systeme werden deshalb nach dem Grundtraining weiter "
            "verfeinert: Menschen bewerten Antworten, und das Modell lernt, hilfreicher und "
            "vorsichtiger zu formulieren. Manche Anwendungen verknüpfen es zudem mit einer Suche "
            "oder einer Datenbank, damit es sich auf überprüfbare Dokumente stützen kann.\n\n"
            "Für den Alltag heißt das: Sprachmodelle sind nützliche Werkzeuge zum Formulieren, "
            "Zusammenfassen und Ideensammeln. Wichtige Fakten sollten Sie aber immer selbst "
            "nachprüfen."
        ),
        "author": "Friederike Voß",
        "tags": ["grundlagen", "forschung"],
        "days_ago": 33,
        "image_credit": "Grafik: Jana Feldmann / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "leipzig-bibliothek-ki-sprechstunde",
        "title": "KI-Sprechstunde zwischen den Regalen: Eine Leipziger Bibliothek macht es vor",
        "teaser": (
            "In einer Stadtteilbibliothek im Leipziger Westen erklären Ehrenamtliche jeden "
            "Donnerstag, wie Chatbots funktionieren. Der Andrang überrascht selbst das Team."
        ),
        "body": (
            "Donnerstag, 16 Uhr, im Lesecafé der Stadtteilbibliothek: An vier Tischen sitzen "
            "Menschen vor Laptops, daneben Ehrenamtliche mit Namensschildern. Eine ältere Dame "
            "möchte wissen, ob ein Übersetzungsprogramm ihr hilft, mit ihrer Enkelin in Lissabon zu "
            "schreiben. Ein Student fragt, ob er für seine Hausarbeit mit einem Chatbot Literatur "
            "suchen darf. Am Nachbartisch formuliert ein Mann mithilfe eines Sprachmodells ein "
            "Schreiben an seine Hausverwaltung.\n\n"
            "Die „KI-Sprechstunde“ gibt es seit dem vergangenen Herbst. Die Idee hatte "
            "Bibliothekarin Doreen Schubert, nachdem an der Ausleihtheke immer häufiger Fragen zu "
            "Chatbots gestellt wurden. „Bibliotheken waren schon immer Orte, an denen man lernt, "
            "mit Informationen umzugehen“, sagt sie. „KI ist da einfach das nächste Kapitel.“\n\n"
            "Das Angebot ist kostenlos und ohne Anmeldung. Die Bibliothek stellt dafür eigene "
            "Geräte mit vorbereiteten Zugängen bereit, damit niemand ein Konto anlegen oder "
            "persönliche Daten preisgeben muss. Die Ehrenamtlichen – darunter eine pensionierte "
            "Informatiklehrerin und zwei Studierende – wurden vorab in einem Workshop geschult. Sie "
            "erklären nicht nur, wie man Fragen stellt, sondern auch, warum man Antworten "
            "überprüfen sollte.\n\n"
            "Inzwischen kommen jede Woche zwischen 20 und 40 Menschen. Die Bibliothek überlegt, "
            "einen zweiten Termin am Samstag einzurichten, sucht dafür aber noch Freiwillige. "
            "Schubert wünscht sich, dass die Idee Schule macht: „Nicht jeder hat Kinder oder "
            "Kollegen, die einem das erklären. Aber fast jeder hat eine Bibliothek in der Nähe.“ "
            "Ein Materialpaket für andere Bibliotheken soll im Frühjahr erscheinen."
        ),
        "author": "Aylin Demir",
        "tags": ["bildung", "lokal", "kultur"],
        "days_ago": 14,
        "image_credit": "Foto: Aylin Demir / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "niederbayern-landwirt-hackroboter",
        "title": "Der Roboter jätet mit: Ein Landwirt aus Niederbayern setzt auf KI",
        "teaser": (
            "Auf den Feldern von Korbinian Huber erkennt eine Kamera Unkraut und entfernt es "
            "mechanisch. Das spart Pflanzenschutzmittel – und wirft neue Fragen auf."
        ),
        "body": (
            "Langsam, fast gemächlich rollt das Gerät über das Zuckerrübenfeld. An seiner "
            "Unterseite sitzen Kameras, die jede einzelne Pflanze erfassen. Erkennt die Software "
            "ein Beikraut, fährt eine kleine Hacke aus und entfernt es, ohne die junge Rübe zu "
            "beschädigen. Korbinian Huber steht am Feldrand und nickt zufrieden. „Vor drei Jahren "
            "hätte ich das nicht für möglich gehalten.“\n\n"
            "Der 38-Jährige bewirtschaftet mit seiner Familie rund 120 Hektar in Niederbayern. Den "
            "Hackroboter hat er gemeinsam mit zwei Nachbarbetrieben angeschafft, weil sich die "
            "Investition für einen Hof allein kaum lohnen würde. Seitdem hat er auf diesen Flächen "
            "deutlich weniger Herbizide ausgebracht. Die Maschine ist allerdings langsam und muss "
            "bei Regen stehen bleiben – an manchen Tagen greift Huber deshalb doch wieder zur "
            "klassischen Hacke.\n\n"
            "Neben dem Roboter nutzt er eine App, die aus Satellitenbildern und Wetterdaten "
            "berechnet, wo auf seinen Feldern wie viel Dünger nötig ist. „Früher haben wir nach "
            "Gefühl gedüngt, jetzt gibt es eine Karte dazu“, sagt er. Die Entscheidung treffe er "
            "aber weiterhin selbst. Ganz ohne Sorgen ist die Digitalisierung nicht: Huber fragt "
            "sich, wem die Daten gehören, die seine Maschinen sammeln, und ob Hersteller sie eines "
            "Tages an Dritte weitergeben könnten. Der Bauernverband fordert klare Regeln, damit die "
            "Betriebe die Kontrolle über ihre Daten behalten.\n\n"
            "Landwirtschaftsberater weisen darauf hin, dass sich solche Technik vor allem für "
            "größere oder gemeinschaftlich wirtschaftende Betriebe rechnet. Maschinenringe könnten "
            "helfen, die Geräte auch kleineren Höfen zugänglich zu machen. Huber jedenfalls will im "
            "nächsten Jahr einen zweiten Roboter testen – diesmal im Mais."
        ),
        "author": "Matthias Kröger",
        "tags": ["landwirtschaft", "lokal", "umwelt"],
        "days_ago": 22,
        "image_credit": "Foto: Matthias Kröger / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "interview-miriam-albrecht-dialekte",
        "title": "„Sprachmodelle sprechen Hochdeutsch – und wir nicht immer“",
        "teaser": (
            "Die Computerlinguistin Miriam Albrecht untersucht, wie gut KI mit Dialekten "
            "zurechtkommt. Im Interview erklärt sie, warum das mehr als eine Kuriosität ist."
        ),
        "body": (
            "*Dr. Miriam Albrecht ist Computerlinguistin und leitet an einer norddeutschen "
            "Universität eine Forschungsgruppe, die Sprachtechnologie für Dialekte und "
            "Regionalsprachen entwickelt. Wir haben mit ihr über Plattdeutsch, Spracherkennung und "
            "Fairness gesprochen. Das Gespräch wurde für die Veröffentlichung gekürzt.*\n\n"
            "**Frau Albrecht, verstehen Sprachassistenten eigentlich Dialekt?** Kommt darauf an, "
            "welchen und wie stark. Leichte regionale Färbungen sind meist kein Problem. Wer aber "
            "richtig Platt, Schwäbisch oder Sächsisch spricht, erlebt deutlich mehr Fehler. In "
            "unseren Tests lag die Fehlerquote bei manchen Dialektaufnahmen um ein Mehrfaches höher "
            "als bei Standarddeutsch. Der Grund sind die Trainingsdaten: Die Systeme lernen vor "
            "allem aus Texten und Aufnahmen in Hochdeutsch. Dialekte werden selten aufgeschrieben, "
            "und wenn, dann nicht einheitlich. Das Modell hat schlicht zu wenig davon gesehen.\n\n"
            "**Ist das nicht ein Luxusproblem?** Nein. Denken Sie an ältere Menschen, die mit einem "
            "Notrufsystem sprechen, oder an automatische Untertitel im Regionalfernsehen. Wenn "
            "Technik bestimmte Gruppen systematisch schlechter versteht, ist das eine Frage der "
            "Teilhabe. Und es betrifft nicht nur Dialekte, sondern auch Menschen mit Akzent oder "
            "einer Sprachbehinderung.\n\n"
            "**Was schlagen Sie vor?** Wir bauen gemeinsam mit Heimatvereinen und Regionalradios "
            "Sammlungen von Sprachaufnahmen auf – mit Einwilligung und unter offenen Lizenzen. Die "
            "Sprecherinnen und Sprecher entscheiden mit, wofür die Daten genutzt werden dürfen. "
            "Daraus entstehen Testsätze, mit denen man Systeme vergleichen kann. Mein Wunsch an die "
            "Hersteller wäre, offenzulegen, wie gut ihre Produkte mit verschiedenen Sprechweisen "
            "zurechtkommen. Ein Beipackzettel für Spracherkennung, sozusagen."
        ),
        "author": "Lena Brandt",
        "tags": ["interview", "forschung", "kultur"],
        "days_ago": 27,
        "image_credit": "Foto: privat",
        "sponsored": False,
    },
    {
        "slug": "kommentar-ki-kompetenz-keine-pflichtuebung",
        "title": "Kommentar: KI-Kompetenz darf keine Pflichtübung bleiben",
        "teaser": (
            "Seit Arbeitgeber für die KI-Kompetenz ihrer Beschäftigten sorgen müssen, boomen "
            "Schnellkurse mit Zertifikat. Das reicht nicht, meint unser Redakteur Jonas Weidemann."
        ),
        "body": (
            "Man kennt das aus der jährlichen Brandschutzunterweisung: ein Video, ein paar "
            "Multiple-Choice-Fragen, ein Häkchen in der Personalakte. Genau so droht es jetzt auch "
            "mit der KI-Kompetenz zu laufen. Die europäische KI-Verordnung verlangt, dass "
            "Unternehmen und Behörden, die KI-Systeme einsetzen, für ausreichende Kenntnisse ihres "
            "Personals sorgen. Eine gute Idee. Was vielerorts daraus wird, ist es nicht.\n\n"
            "Die Angebote schießen aus dem Boden: Onlinekurse von 45 Minuten, am Ende ein "
            "Zertifikat, das angeblich „rechtssicher“ macht. Wer so etwas bucht, hat vielleicht die "
            "Sorge vor einer Prüfung beruhigt. Verstanden hat danach kaum jemand, warum ein Chatbot "
            "Quellen erfindet, wann man Kundendaten besser nicht in ein Eingabefeld kopiert oder "
            "wie man eine automatisch erstellte Zusammenfassung kritisch liest.\n\n"
            "Echte KI-Kompetenz lässt sich nicht in einer Mittagspause abhaken. Sie entsteht, wenn "
            "Beschäftigte Werkzeuge an ihren eigenen Aufgaben ausprobieren dürfen, Fehler machen "
            "und offen darüber sprechen können. Sie braucht Ansprechpartner im Haus, klare Regeln "
            "und die ausdrückliche Erlaubnis, Nein zu sagen, wenn ein System nicht passt. Das "
            "kostet Zeit und ein wenig Geld. Aber es ist billiger als die Alternative: "
            "Belegschaften, die KI entweder blind vertrauen oder sie heimlich nutzen, weil niemand "
            "mit ihnen darüber redet.\n\n"
            "Der Gesetzgeber hat bewusst offengelassen, wie KI-Kompetenz im Einzelnen aussehen "
            "soll. Das ist keine Lücke, sondern eine Einladung. **Unternehmen sollten sie "
            "annehmen** – nicht mit einem Zertifikat an der Wand, sondern mit einer Kultur des "
            "Lernens."
        ),
        "author": "Jonas Weidemann",
        "tags": ["kommentar", "arbeit", "bildung"],
        "days_ago": 0,
        "image_credit": None,
        "sponsored": False,
    },
    {
        "slug": "datenschutz-ki-assistenten-tipps",
        "title": "Was passiert mit meinen Eingaben? Datenschutz bei KI-Assistenten",
        "teaser": (
            "Ob Krankheitsfrage oder Steuerbescheid: Viele tippen Persönliches in Chatbots. Wir "
            "erklären, was mit den Daten geschieht und wie Sie sich schützen."
        ),
        "body": (
            "Chatbots sind verführerisch bequem. Man kopiert einen Arztbrief hinein und bittet um "
            "eine verständliche Erklärung, lädt den Mietvertrag hoch oder lässt sich bei der "
            "Steuererklärung helfen. Doch was geschieht mit diesen Informationen, nachdem man auf "
            "„Senden“ gedrückt hat?\n\n"
            "## Gespeichert, ausgewertet, vielleicht zum Training genutzt\n\n"
            "Bei vielen Diensten werden Unterhaltungen zunächst auf den Servern des Anbieters "
            "gespeichert. Je nach Einstellungen und Vertrag können sie dazu verwendet werden, "
            "künftige Modelle zu verbessern. Manche Anbieter lassen Gespräche stichprobenartig von "
            "Menschen prüfen, um Qualität und Sicherheit zu kontrollieren. Das steht meist in den "
            "Datenschutzhinweisen – die allerdings selten jemand liest.\n\n"
            "Die Datenschutz-Grundverordnung gilt auch hier. Nutzerinnen und Nutzer haben etwa ein "
            "Recht auf Auskunft und auf Löschung ihrer Daten. In der Praxis lässt sich aber kaum "
            "nachvollziehen, ob Informationen bereits in ein Training eingeflossen sind.\n\n"
            "## Fünf einfache Regeln\n\n"
            "- Geben Sie keine Namen, Adressen, Kontonummern oder Gesundheitsdaten anderer Menschen "
            "ein.\n"
            "- Schwärzen Sie Dokumente, bevor Sie sie hochladen.\n"
            "- Prüfen Sie in den Einstellungen, ob Ihre Chats für das Training genutzt werden "
            "dürfen, und widersprechen Sie gegebenenfalls.\n"
            "- Nutzen Sie für berufliche Inhalte nur Dienste, die Ihr Arbeitgeber freigegeben hat.\n"
            "- Löschen Sie alte Unterhaltungen regelmäßig.\n\n"
            "**Faustregel:** Schreiben Sie nichts in einen Chatbot, was Sie nicht auch auf eine "
            "Postkarte schreiben würden. Wer sensible Fragen hat, ist mit einer Beratungsstelle "
            "oder einem lokal betriebenen Modell oft besser bedient."
        ),
        "author": "Lena Brandt",
        "tags": ["datenschutz", "ratgeber", "verbraucher"],
        "days_ago": 30,
        "image_credit": "Illustration: Jana Feldmann / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "pflege-spracherkennung-dokumentation",
        "title": "Diktieren statt tippen: KI entlastet Pflegekräfte bei der Dokumentation",
        "teaser": (
            "In einem Bremer Seniorenzentrum sprechen Pflegekräfte ihre Berichte ins Smartphone, "
            "eine Software macht daraus strukturierte Einträge. Die gewonnene Zeit kommt den "
            "Bewohnern zugute."
        ),
        "body": (
            "Schichtende im Seniorenzentrum Haus Lindenhof: Früher hieß das für die Pflegefachkraft "
            "Ramona Becker, noch eine halbe Stunde am Computer zu sitzen. Wer hat wie viel "
            "getrunken, wie heilt die Wunde, gab es Auffälligkeiten? Heute spricht sie ihre "
            "Beobachtungen direkt nach jedem Zimmerbesuch in ein dienstliches Smartphone. Eine "
            "Software wandelt die Sprache in Text um, ordnet die Angaben den richtigen Feldern der "
            "Pflegedokumentation zu und markiert fehlende Informationen.\n\n"
            "„Ich bin nicht schneller fertig, weil ich schlampiger arbeite, sondern weil ich nicht "
            "mehr alles doppelt mache“, sagt Becker. Vor dem Speichern liest sie jeden Eintrag noch "
            "einmal und korrigiert, wenn nötig. Gerade bei Medikamentennamen schaut sie zweimal "
            "hin.\n\n"
            "Die Einrichtung hat sich bewusst für ein System entschieden, das die Sprache auf "
            "Servern in Deutschland verarbeitet und keine Aufnahmen dauerhaft speichert. "
            "Bewohnerinnen, Bewohner und Angehörige wurden vorab informiert. Einrichtungsleiter "
            "Thomas Wendt schätzt, dass jede Pflegekraft pro Schicht zwischen 20 und 40 Minuten "
            "spart. Eine externe Überprüfung dieser Zahl steht allerdings noch aus.\n\n"
            "Nicht alle im Team waren sofort überzeugt. Ältere Kolleginnen fürchteten, überwacht zu "
            "werden; Mitarbeitende mit Deutsch als Zweitsprache kämpften anfangs mit "
            "Erkennungsfehlern. Das Heim reagierte mit Schulungen und einer einfachen Regel: "
            "Niemand muss diktieren – wer lieber tippt, tippt weiter. Den Fachkräftemangel in der "
            "Pflege wird Software nicht lösen. Aber jede Minute, die nicht am Bildschirm verbracht "
            "wird, ist eine Minute mehr für Gespräche, Spaziergänge oder einfach ein offenes Ohr."
        ),
        "author": "Aylin Demir",
        "tags": ["gesundheit", "arbeit", "datenschutz"],
        "days_ago": 19,
        "image_credit": "Foto: Aylin Demir / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "amtsgericht-ki-massenverfahren",
        "title": "Wenn Tausende klagen: Amtsgericht nutzt KI für Massenverfahren",
        "teaser": (
            "Das Amtsgericht Hallerbach lässt Schriftsätze in gleichförmigen Verfahren von einer "
            "Software vorsortieren. Die Richterschaft sieht Entlastung, die Anwaltschaft fordert "
            "Transparenz."
        ),
        "body": (
            "Auf den Schreibtischen des Amtsgerichts Hallerbach stapelten sich zuletzt die Akten. "
            "Ein großer Teil betrifft Verfahren, die sich sehr ähneln: Fluggäste verlangen eine "
            "Entschädigung wegen Verspätung oder Annullierung, meist vertreten von spezialisierten "
            "Kanzleien oder Inkassodiensten. Die Schriftsätze sind oft nahezu identisch, ihre "
            "Bearbeitung kostet trotzdem jedes Mal Zeit.\n\n"
            "Seit einigen Monaten hilft eine Software. Sie liest eingehende Klagen aus, erkennt "
            "Flugnummer, Datum und geforderte Summe und schlägt vor, welche Textbausteine für ein "
            "Urteil infrage kommen. „Die Entscheidung trifft immer die Richterin oder der Richter“, "
            "betont Gerichtssprecherin Dr. Anke Vollmer. „Die Software nimmt uns das Abtippen und "
            "Suchen ab, nicht das Denken.“\n\n"
            "## Richtervorbehalt und Rechtsstaat\n\n"
            "In der Justiz ist der Einsatz von KI besonders heikel. Die Unabhängigkeit der Gerichte "
            "ist im Grundgesetz verankert, und die KI-Verordnung stuft Systeme, die Gerichte bei "
            "der Auslegung von Recht und Sachverhalt unterstützen, als hochriskant ein. "
            "Richterverbände begrüßen zwar die Entlastung, warnen aber vor einem schleichenden "
            "Automatisierungseffekt: Wer Vorschläge übernimmt, weil sie meistens stimmen, prüft "
            "irgendwann weniger genau. Anwaltsverbände fordern zudem, dass Parteien erfahren, ob "
            "und wie Software an ihrem Verfahren mitgewirkt hat. Das Gericht hat angekündigt, die "
            "Funktionsweise des Systems öffentlich zu erläutern.\n\n"
            "## Mehr Tempo für alle?\n\n"
            "Erste interne Zahlen deuten darauf hin, dass sich die Bearbeitungszeit in den "
            "betroffenen Verfahren verkürzt hat. Davon sollen auch andere Fälle profitieren, die "
            "bisher hinten anstehen mussten – etwa Mietstreitigkeiten, die für die Beteiligten oft "
            "weit existenzieller sind als eine verspätete Urlaubsreise."
        ),
        "author": "Paul Sänger",
        "tags": ["justiz", "verwaltung", "regulierung"],
        "days_ago": 24,
        "image_credit": "Foto: Paul Sänger / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "automatische-untertitel-gehoerlose",
        "title": "Automatische Untertitel: Fortschritt mit Lücken für gehörlose Menschen",
        "teaser": (
            "KI erstellt heute in Sekunden Untertitel für Videos und Livestreams. Für gehörlose und "
            "schwerhörige Menschen ist das eine Hilfe – aber kein Ersatz für Gebärdensprache."
        ),
        "body": (
            "Als Kathrin Wolff vor zehn Jahren einen Vortrag im Internet verfolgen wollte, war sie "
            "darauf angewiesen, dass jemand Untertitel erstellt hatte. Heute blendet fast jede "
            "Videoplattform auf Knopfdruck automatisch erzeugte Untertitel ein. „Das hat mein Leben "
            "verändert“, sagt die schwerhörige Sozialpädagogin. „Aber es hat auch neue Probleme "
            "geschaffen.“\n\n"
            "Automatische Spracherkennung ist in den vergangenen Jahren deutlich besser geworden. "
            "Bei klarer Sprache und guter Tonqualität sind die Fehlerquoten niedrig. Schwierig wird "
            "es bei Fachbegriffen, Eigennamen, Dialekten oder wenn mehrere Menschen "
            "durcheinanderreden. Dann wird aus dem „Bundesrat“ schon mal ein „Bundesrad“. Wer "
            "ohnehin nur über den Text folgen kann, hat keine Möglichkeit, solche Fehler zu "
            "bemerken.\n\n"
            "Verbände gehörloser Menschen weisen zudem auf einen wichtigen Punkt hin: Für viele von "
            "Geburt an gehörlose Menschen ist die Deutsche Gebärdensprache die Muttersprache, "
            "geschriebenes Deutsch dagegen eine Zweitsprache. Untertitel sind für sie hilfreich, "
            "aber nicht gleichwertig. Erste KI-Systeme, die Gebärdensprache mit animierten Figuren "
            "erzeugen, stoßen in der Community auf Skepsis – zu oft wirken die Bewegungen steif, "
            "Mimik und Grammatik gehen verloren.\n\n"
            "Wolff wünscht sich, dass Sender und Veranstalter automatische Untertitel nicht als "
            "billige Lösung betrachten, sondern als Ausgangspunkt. Bei Nachrichten, "
            "Behördeninformationen oder Gesundheitsthemen sollten Menschen die Texte prüfen, und "
            "bei Veranstaltungen gehören Dolmetscherinnen für Gebärdensprache weiterhin auf die "
            "Bühne. „Technik kann Barrieren abbauen“, sagt sie. „Aber nur, wenn diejenigen "
            "mitreden, für die sie gebaut wird.“"
        ),
        "author": "Lena Brandt",
        "tags": ["inklusion", "medien"],
        "days_ago": 36,
        "image_credit": None,
        "sponsored": False,
    },
    {
        "slug": "wettervorhersage-maschinelles-lernen",
        "title": "Regen oder Sonne? Wie KI die Wettervorhersage verändert",
        "teaser": (
            "Lernende Modelle berechnen Wetterprognosen in Minuten statt Stunden. Meteorologinnen "
            "sehen großes Potenzial, wollen auf die klassische Physik aber nicht verzichten."
        ),
        "body": (
            "Für eine klassische Wettervorhersage rechnen Supercomputer stundenlang. Sie lösen "
            "physikalische Gleichungen, die beschreiben, wie sich Luftmassen, Feuchtigkeit und "
            "Temperatur in der Atmosphäre verhalten. Seit einigen Jahren gibt es einen zweiten Weg: "
            "KI-Modelle, die aus Jahrzehnten historischer Wetterdaten gelernt haben, wie sich "
            "Wetterlagen entwickeln. Sie liefern eine Prognose in wenigen Minuten – auf "
            "vergleichsweise bescheidener Hardware.\n\n"
            "## Schnell, günstig, erstaunlich gut\n\n"
            "In Vergleichstests schneiden die lernenden Modelle bei vielen Größen, etwa Temperatur "
            "oder Luftdruck, ähnlich gut oder sogar besser ab als etablierte Verfahren. „Das hat in "
            "der Fachwelt viele überrascht“, sagt die Meteorologin Dr. Sabine Ritter, die in einem "
            "Forschungsverbund zu Wettermodellen arbeitet. Besonders interessant sei, dass man mit "
            "der gesparten Rechenzeit viel mehr Varianten einer Vorhersage berechnen könne. Das "
            "helfe, Unsicherheiten besser abzuschätzen.\n\n"
            "## Die Grenzen der Statistik\n\n"
            "Trotzdem warnt Ritter vor Euphorie. KI-Modelle lernen aus der Vergangenheit. Extreme "
            "Ereignisse, die es in dieser Form noch nie gab und die mit dem Klimawandel häufiger "
            "werden dürften, können sie womöglich schlechter einschätzen. Auch kleinräumige "
            "Phänomene wie einzelne Gewitterzellen bleiben eine Herausforderung.\n\n"
            "Die meisten Wetterdienste setzen deshalb auf eine Kombination: Physikalische Modelle "
            "bleiben das Rückgrat, KI-Verfahren ergänzen sie. Für die Energiewirtschaft ist das "
            "eine gute Nachricht. Wer Wind- und Solarstrom ins Netz einspeist, ist auf präzise "
            "Prognosen angewiesen – und profitiert von jeder Stunde, die sie früher vorliegen."
        ),
        "author": "Matthias Kröger",
        "tags": ["forschung", "klima", "energie"],
        "days_ago": 41,
        "image_credit": "Foto: Matthias Kröger / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "in-eigener-sache-so-nutzen-wir-ki",
        "title": "In eigener Sache: So nutzt der KI-Kompass künstliche Intelligenz",
        "teaser": (
            "Wir berichten täglich über KI – und setzen sie in der Redaktion auch selbst ein. Hier "
            "legen wir offen, wofür, wofür nicht und wer am Ende die Verantwortung trägt."
        ),
        "body": (
            "Liebe Leserinnen und Leser, wer über künstliche Intelligenz berichtet, bekommt oft die "
            "Frage gestellt: Und wie haltet ihr es selbst damit? Eine berechtigte Frage. Deshalb "
            "machen wir transparent, wo KI in unserer Redaktion zum Einsatz kommt – und wo nicht.\n\n"
            "## Wofür wir KI nutzen\n\n"
            "- Wir lassen Interviews automatisch **transkribieren** und prüfen die Abschrift "
            "anschließend anhand der Aufnahme.\n"
            "- Wir nutzen Übersetzungswerkzeuge, um fremdsprachige Studien und Dokumente schneller "
            "zu erschließen.\n"
            "- Wir lassen uns gelegentlich Vorschläge für Überschriften oder Zusammenfassungen "
            "machen – und verwerfen die meisten davon.\n\n"
            "## Wofür wir KI nicht nutzen\n\n"
            "Kein Artikel im KI-Kompass wird von einer Maschine geschrieben. Zitate, Zahlen und "
            "Fakten recherchieren und prüfen Menschen. KI-generierte Bilder veröffentlichen wir nur "
            "mit deutlicher Kennzeichnung, und vertrauliche Informationen von Quellen laden wir "
            "nicht in externe Dienste hoch. Die Verantwortung für jeden Text tragen die Autorin "
            "oder der Autor und die Redaktion als Ganzes. Unterläuft uns ein Fehler, korrigieren "
            "wir ihn sichtbar.\n\n"
            "## Frei zugänglich, dank Ihnen\n\n"
            "Der KI-Kompass bleibt für alle kostenlos lesbar – ohne Bezahlschranke und ohne "
            "personalisierte Werbung. Möglich machen das Leserinnen und Leser, die uns mit einem "
            "Beitrag unterstützen. Wenn Sie unsere Arbeit wertvoll finden, freuen wir uns, wenn Sie "
            "[Teil unseres Förderkreises](https://ki-kompass.example/unterstuetzen) werden. Unsere "
            "vollständigen Redaktionsrichtlinien finden Sie unter "
            "[ki-kompass.example/transparenz](https://ki-kompass.example/transparenz).\n\n"
            "Herzliche Grüße aus der Redaktion – Ihre Friederike Voß, Chefredakteurin"
        ),
        "author": "Friederike Voß",
        "tags": ["medien", "in-eigener-sache"],
        "days_ago": 45,
        "image_credit": None,
        "sponsored": False,
    },
    {
        "slug": "symptome-chatbot-hausaerztin",
        "title": "Dr. Chatbot? Warum Patienten KI nach ihren Beschwerden fragen",
        "teaser": (
            "Immer mehr Menschen schildern ihre Symptome zuerst einem Chatbot, bevor sie zur Ärztin "
            "gehen. Eine Hausärztin aus Gelsenkirchen erzählt, was das in ihrer Praxis verändert."
        ),
        "body": (
            "Der Patient, der an diesem Morgen in die Praxis von Dr. Birgit Nowak in Gelsenkirchen "
            "kommt, hat seine Diagnose schon mitgebracht. Auf dem Smartphone zeigt er einen langen "
            "Chatverlauf: Kopfschmerzen, Schwindel, Müdigkeit – und am Ende eine Liste möglicher "
            "Ursachen, darunter zwei ernste Erkrankungen. „Früher war es Dr. Google, heute ist es "
            "der Chatbot“, sagt die Hausärztin. „Der Unterschied ist, dass die Antworten viel "
            "überzeugender klingen.“\n\n"
            "Nowak sieht darin nicht nur Nachteile. Manche Patientinnen und Patienten kommen besser "
            "vorbereitet, haben ihre Beschwerden sortiert und stellen gezieltere Fragen. Andere "
            "sind stark verunsichert, weil ihnen eine KI eine seltene, schwere Krankheit nahegelegt "
            "hat. Und einige kommen zu spät, weil eine beruhigende Antwort sie in falscher "
            "Sicherheit gewiegt hat.\n\n"
            "Fachleute weisen darauf hin, dass allgemeine Chatbots keine Medizinprodukte sind. Sie "
            "können weder untersuchen noch Vorgeschichte und Medikamente zuverlässig einbeziehen, "
            "und sie geben mitunter selbstbewusst falsche Auskünfte. Für Notfälle gilt ohnehin: Bei "
            "Brustschmerzen, Atemnot oder plötzlichen Lähmungserscheinungen sofort den Notruf 112 "
            "wählen.\n\n"
            "Die Ärztin empfiehlt, KI allenfalls zur Vorbereitung zu nutzen – etwa um Fragen für "
            "das Arztgespräch zu formulieren oder sich Fachbegriffe aus einem Befund erklären zu "
            "lassen. Persönliche Gesundheitsdaten sollte man dabei möglichst nicht eingeben. **Die "
            "Diagnose gehört in die Praxis**, sagt sie, und fügt lachend hinzu: „Den Chatverlauf "
            "dürfen Sie mir aber gern zeigen. Manchmal ist das ein guter Einstieg ins Gespräch.“"
        ),
        "author": "Matthias Kröger",
        "tags": ["gesundheit", "verbraucher"],
        "days_ago": 5,
        "image_credit": "Foto: Matthias Kröger / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "kleine-modelle-sparsam",
        "title": "Klein, aber fein: Warum kompakte KI-Modelle im Kommen sind",
        "teaser": (
            "Nicht jede Aufgabe braucht ein riesiges Sprachmodell. Kleine Modelle laufen auf Laptop "
            "oder Smartphone, sparen Energie und schützen die Privatsphäre."
        ),
        "body": (
            "Lange galt in der KI-Branche ein einfaches Motto: Größer ist besser. Mehr Parameter, "
            "mehr Trainingsdaten, mehr Rechenleistung. Inzwischen zeichnet sich ein Gegentrend ab. "
            "Kompakte Modelle mit wenigen Milliarden oder sogar nur einigen Hundert Millionen "
            "Parametern erledigen viele Alltagsaufgaben erstaunlich gut – und sie laufen auf "
            "gewöhnlicher Hardware.\n\n"
            "## Die Vorteile der Kleinen\n\n"
            "- **Energie:** Ein kleines Modell benötigt für eine Antwort nur einen Bruchteil der "
            "Rechenleistung eines großen Systems.\n"
            "- **Datenschutz:** Läuft das Modell direkt auf dem eigenen Gerät, verlassen die Daten "
            "es gar nicht erst.\n"
            "- **Kosten:** Unternehmen brauchen keine teuren Cloud-Abos und sind unabhängiger von "
            "einzelnen Anbietern.\n"
            "- **Tempo:** Ohne den Umweg über das Internet kommen Antworten oft schneller.\n\n"
            "Möglich wird das durch verschiedene Techniken. Beim sogenannten Destillieren lernt ein "
            "kleines Modell von einem großen, bei der Quantisierung werden die Zahlen im Modell mit "
            "geringerer Genauigkeit gespeichert. Viele dieser Modelle sind als "
            "Open-Weight-Varianten frei verfügbar.\n\n"
            "## Wo die Grenzen liegen\n\n"
            "Bei komplexen Aufgaben, etwa anspruchsvollen Programmierfragen oder dem Abwägen langer "
            "Dokumente, sind große Modelle weiterhin überlegen. „Die Kunst liegt darin, für jede "
            "Aufgabe das passende Werkzeug zu wählen“, sagt der Softwareentwickler Okan Yilmaz, der "
            "für Handwerksbetriebe in Nordrhein-Westfalen lokale KI-Lösungen einrichtet. Eine "
            "Tischlerei, die Angebote vorformulieren lässt, brauche kein Modell, das nebenbei "
            "Gedichte auf Altgriechisch schreiben kann.\n\n"
            "Für die Klimabilanz der KI könnte diese Entwicklung bedeutsam werden. Wenn "
            "Routineanfragen künftig lokal und sparsam beantwortet werden, sinkt der Druck auf die "
            "großen Rechenzentren – zumindest ein wenig."
        ),
        "author": "Jonas Weidemann",
        "tags": ["energie", "open-source", "datenschutz"],
        "days_ago": 16,
        "image_credit": "Grafik: Jana Feldmann / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "recruiting-ki-bewerbungen",
        "title": "Aussortiert vom Algorithmus? KI in Bewerbungsverfahren",
        "teaser": (
            "Viele Unternehmen lassen Lebensläufe von Software vorsortieren. Das spart Zeit, kann "
            "aber bestehende Benachteiligungen verstärken. Was Bewerberinnen und Bewerber wissen "
            "sollten."
        ),
        "body": (
            "Hundert Bewerbungen auf eine Stelle in der Sachbearbeitung, zweihundert auf einen "
            "Ausbildungsplatz: Personalabteilungen sind oft überlastet. Immer mehr Unternehmen "
            "setzen deshalb Software ein, die Lebensläufe ausliest, mit der Stellenanzeige "
            "abgleicht und eine Rangliste erstellt. Manche Systeme werten sogar Videointerviews "
            "aus.\n\n"
            "## Alte Muster, neue Technik\n\n"
            "Das Problem: Lernende Systeme orientieren sich an den Daten, mit denen sie trainiert "
            "wurden. Hat ein Unternehmen in der Vergangenheit überwiegend Männer für technische "
            "Berufe eingestellt, kann eine Software dieses Muster übernehmen, ohne dass es jemand "
            "beabsichtigt. Auch Lücken im Lebenslauf, etwa durch Elternzeit oder Krankheit, werden "
            "womöglich negativ gewichtet. „Die Diskriminierung steckt dann nicht in einer bösen "
            "Absicht, sondern in der Statistik“, sagt die Arbeitsrechtlerin Dr. Franziska Lehmann.\n\n"
            "Rechtlich sind die Grenzen klar gezogen. Das Allgemeine Gleichbehandlungsgesetz "
            "verbietet Benachteiligungen etwa wegen des Geschlechts, des Alters oder der ethnischen "
            "Herkunft – egal, ob ein Mensch oder eine Maschine entscheidet. Die "
            "Datenschutz-Grundverordnung schützt zudem vor Entscheidungen, die ausschließlich "
            "automatisiert getroffen werden. Und die KI-Verordnung der EU stuft KI-Systeme für die "
            "Auswahl von Personal als hochriskant ein.\n\n"
            "## Was Bewerberinnen und Bewerber tun können\n\n"
            "Lehmann rät, nach einer Absage nachzufragen, ob und wie Software an der Entscheidung "
            "beteiligt war. Wer den Verdacht hat, benachteiligt worden zu sein, kann sich an die "
            "Antidiskriminierungsstelle des Bundes oder an eine Beratungsstelle wenden. Unternehmen "
            "wiederum sollten ihre Systeme regelmäßig darauf prüfen, ob bestimmte Gruppen auffällig "
            "häufig aussortiert werden – und im Zweifel lieber einen Menschen mehr hinschauen "
            "lassen."
        ),
        "author": "Paul Sänger",
        "tags": ["arbeit", "regulierung", "datenschutz"],
        "days_ago": 28,
        "image_credit": "Illustration: Jana Feldmann / KI-Kompass",
        "sponsored": False,
    },
    {
        "slug": "partner-webinar-lernwerk-ki-grundlagen",
        "title": "Anzeige: Kostenloses Webinar „KI-Grundlagen für Teams“ mit Lernwerk Digital",
        "teaser": (
            "Unser Partner Lernwerk Digital lädt zu einem einstündigen Webinar ein, das "
            "Beschäftigten ohne Vorkenntnisse einen praxisnahen Einstieg in generative KI bietet."
        ),
        "body": (
            "*Dieser Beitrag ist eine bezahlte Anzeige unseres Partners Lernwerk Digital. Die "
            "Redaktion des KI-Kompass war an der Erstellung nicht beteiligt.*\n\n"
            "Viele Beschäftigte nutzen generative KI bereits im Arbeitsalltag – oft ohne Schulung "
            "und mit offenen Fragen. Was darf ich eingeben? Wie prüfe ich Ergebnisse? Und wie passt "
            "das zu den Vorgaben meines Arbeitgebers? Genau hier setzt das kostenlose Webinar "
            "„KI-Grundlagen für Teams“ von Lernwerk Digital an.\n\n"
            "## Das erwartet Sie\n\n"
            "- eine verständliche Einführung in die Funktionsweise von Sprach- und Bildmodellen,\n"
            "- Praxisbeispiele aus Verwaltung, Vertrieb und Kundenservice,\n"
            "- Tipps zum sicheren Umgang mit vertraulichen Daten,\n"
            "- eine offene Fragerunde mit den Trainerinnen und Trainern.\n\n"
            "Das Webinar dauert 60 Minuten und richtet sich an Mitarbeitende ohne technische "
            "Vorkenntnisse, an Teamleitungen sowie an alle, die in ihrem Unternehmen Schulungen zur "
            "KI-Kompetenz planen. Es findet mehrmals im Monat statt, jeweils dienstagvormittags und "
            "donnerstagnachmittags. Die Teilnahme ist **kostenfrei**; im Anschluss erhalten Sie "
            "eine Teilnahmebestätigung und eine kompakte Checkliste für Ihren Arbeitsplatz.\n\n"
            "## Anmeldung\n\n"
            "Lernwerk Digital ist ein Weiterbildungsanbieter aus Hamburg, der seit mehreren Jahren "
            "Unternehmen und öffentliche Einrichtungen bei der digitalen Qualifizierung begleitet. "
            "Alle Termine und das Anmeldeformular finden Sie [auf der Aktionsseite zum "
            "Webinar](https://ki-kompass.example/partner/lernwerk-webinar). Für Gruppen ab zehn "
            "Personen bietet Lernwerk Digital auf Anfrage auch geschlossene Termine an."
        ),
        "author": "Katja Reimers (Lernwerk Digital)",
        "tags": ["weiterbildung", "arbeit"],
        "days_ago": 4,
        "image_credit": "Foto: Lernwerk Digital",
        "sponsored": True,
    },
    {
        "slug": "partner-datenhafen-praxiswerkstatt-mittelstand",
        "title": "Anzeige: Praxiswerkstatt „KI im Mittelstand“ der Datenhafen Akademie in Bremen",
        "teaser": (
            "In einer eintägigen Präsenzwerkstatt zeigt die Datenhafen Akademie kleinen und "
            "mittleren Unternehmen, wie sie ein erstes KI-Projekt planen und umsetzen."
        ),
        "body": (
            "*Dieser Beitrag ist eine bezahlte Anzeige der Datenhafen Akademie. Die Redaktion des "
            "KI-Kompass war an der Erstellung nicht beteiligt.*\n\n"
            "Sie möchten künstliche Intelligenz in Ihrem Betrieb einsetzen, wissen aber nicht, wo "
            "Sie anfangen sollen? Die Praxiswerkstatt „KI im Mittelstand“ der Datenhafen Akademie "
            "richtet sich an Geschäftsführungen, IT-Verantwortliche und Fachabteilungen aus kleinen "
            "und mittleren Unternehmen. An einem Tag erarbeiten die Teilnehmenden in Kleingruppen "
            "einen konkreten Fahrplan für ein erstes KI-Projekt im eigenen Haus – von der Idee über "
            "die Datenlage bis zur Frage, woran man Erfolg messen kann.\n\n"
            "## Programm der Werkstatt\n\n"
            "- **Vormittag:** Überblick über realistische Einsatzfelder – von der "
            "Angebotserstellung bis zur vorausschauenden Wartung\n"
            "- **Mittag:** rechtliche Grundlagen kompakt, inklusive Datenschutz und KI-Verordnung\n"
            "- **Nachmittag:** Arbeit am eigenen Anwendungsfall mit erfahrenen "
            "Projektbegleiterinnen und -begleitern\n"
            "- **Abschluss:** Austausch und Vernetzung bei Kaffee mit Blick auf die Weser\n\n"
            "Die Werkstatt findet in den Räumen der Akademie in der Bremer Überseestadt statt. Die "
            "Teilnehmerzahl ist auf 24 Personen begrenzt, damit ausreichend Zeit für individuelle "
            "Fragen bleibt. Verpflegung und Arbeitsmaterialien sind im Preis enthalten; Mitglieder "
            "regionaler Wirtschaftsverbände erhalten einen ermäßigten Tarif.\n\n"
            "Weitere Informationen, die nächsten Termine und die Anmeldung finden Sie [auf der "
            "Aktionsseite zur Werkstatt](https://ki-kompass.example/partner/datenhafen-werkstatt)."
        ),
        "author": "Jan-Hendrik Albers (Datenhafen Akademie)",
        "tags": ["weiterbildung", "wirtschaft"],
        "days_ago": 21,
        "image_credit": "Foto: Datenhafen Akademie",
        "sponsored": True,
    },
    {
        "slug": "vhs-kurs-ki-ab-60",
        "title": "„Ich wollte einfach mitreden können“ – ein KI-Kurs für Menschen über 60",
        "teaser": (
            "An der Volkshochschule Lindenfeld lernen Seniorinnen und Senioren, was Chatbots können "
            "und wo sie aufpassen müssen. Ein Besuch im Kursraum."
        ),
        "body": (
            "Gisela Hoffmann hat einen Block mitgebracht, einen Kugelschreiber und eine klare "
            "Erwartung. „Meine Enkel reden ständig über diese Chatbots“, sagt die 74-Jährige. „Ich "
            "wollte einfach mitreden können.“ Mit ihr sitzen elf weitere Frauen und Männer im "
            "Computerraum der Volkshochschule Lindenfeld. Der Kurs heißt „KI verstehen – ab 60“ und "
            "war innerhalb von zwei Tagen ausgebucht.\n\n"
            "Kursleiter Holger Brückner, selbst Rentner und früher Systemadministrator bei einer "
            "Versicherung, hält nicht viel von langen Vorträgen. In der ersten Stunde dürfen alle "
            "einfach etwas fragen: ein Rezept für Grünkohl, einen Reisetipp für die Ostsee, eine "
            "Erklärung, was eigentlich eine Cloud ist. Erst danach spricht er darüber, wie die "
            "Antworten zustande kommen – und warum sie nicht immer stimmen.\n\n"
            "Besonders viel Zeit nimmt sich Brückner für Sicherheitsfragen. Die Teilnehmenden "
            "lernen, wie Betrüger KI nutzen, etwa für täuschend echte Anrufe mit nachgeahmten "
            "Stimmen von Angehörigen. **Sein wichtigster Rat:** Bei überraschenden Geldforderungen "
            "am Telefon immer auflegen und die Person unter der bekannten Nummer zurückrufen.\n\n"
            "Die Volkshochschule will das Angebot ausbauen, weil die Warteliste inzwischen länger "
            "ist als der Kurs. Gisela Hoffmann hat nach vier Abenden ihre erste eigene Frage an "
            "einen Chatbot gestellt: Sie wollte wissen, wie man einen Apfelbaum richtig schneidet. "
            "„Die Antwort war gar nicht schlecht“, sagt sie. „Aber mein Nachbar weiß es trotzdem "
            "besser.“"
        ),
        "author": "Jonas Weidemann",
        "tags": ["bildung", "lokal", "verbraucher"],
        "days_ago": 0,
        "image_credit": "Foto: Lena Brandt / KI-Kompass",
        "sponsored": False,
    },
]

# Name pools for generated demo subscribers (German, mixed genders, some with umlauts).
# fmt: off
FIRST_NAMES: list[str] = [
    "Anna", "Lena", "Marie", "Sophie", "Emma", "Mia", "Hannah", "Lea", "Laura", "Julia", "Sarah",
    "Katharina", "Johanna", "Clara", "Charlotte", "Paula", "Greta", "Ida", "Frieda", "Jana",
    "Sabine", "Petra", "Monika", "Ursula", "Birgit", "Andrea", "Susanne", "Claudia", "Bärbel",
    "Hülya", "Zeynep", "Aylin", "Elif", "Nele", "Merle", "Ines", "Heike", "Karin", "Renate",
    "Gisela", "Jörg", "Björn", "Sören", "Günter", "Jörn", "Lukas", "Jonas", "Leon", "Finn", "Paul",
    "Felix", "Maximilian", "Elias", "Noah", "Ben", "Jan", "Tim", "Niklas", "Moritz", "Tobias",
    "Florian", "Sebastian", "Stefan", "Michael", "Thomas", "Andreas", "Markus", "Frank", "Uwe",
    "Hans", "Klaus", "Wolfgang", "Dieter", "Mehmet", "Emre", "Malte", "Hannes", "Till", "Ole",
    "Matthias", "Käthe", "Lotte", "Jürgen",
]

LAST_NAMES: list[str] = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
    "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann",
    "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller",
    "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller", "Günther", "Frank",
    "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster",
    "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Krämer", "Vogt", "Jäger", "Otto", "Sommer",
    "Groß", "Seidel", "Heinrich", "Haas", "Dietrich", "Ziegler", "Kühn", "Pohl", "Engel", "Horn",
    "Busch", "Bergmann", "Voigt", "Sauer", "Arnold", "Pfeiffer", "Yilmaz", "Kaya", "Öztürk",
    "Nowak", "Kowalski", "Jansen", "Petersen", "Thiele", "Göbel", "Löffler",
]

# Only reserved example names, so no demo address can ever reach a real mailbox.
EMAIL_DOMAINS: list[str] = [
    "example.org", "example.com", "example.net", "mail.example", "post.example", "web.example",
    "posteo.example", "gmx.example",
]
# fmt: on

# Where a demo subscriber signed up; free-form ``kind:detail`` labels.
SOURCES: list[str] = [
    "homepage",
    "artikel:/artikel/ki-act-erklaert",
    "artikel:/artikel/ki-generierte-bilder-erkennen",
    "utm:newsletter-tausch",
    "utm:mastodon",
    "import:altbestand",
    "embed:partnerseite",
    "veranstaltung:ki-sprechstunde-leipzig",
]
