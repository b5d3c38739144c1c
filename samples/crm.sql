-- abgleich sample CRM: the customer table of a small German business.
--
-- Load with:  sqlite3 crm.sqlite < crm.sql
-- 30 invented contacts (ids 1-30); e-mail and web addresses use example.* domains.
-- outlook_sync = 1 marks contacts that take part in the Outlook sync (rows 27-30
-- are 0 = out of scope). outlook_uid holds the address book card's UID once a
-- previous sync linked the two (rows 15 and 16). Phone numbers are kept the way
-- people type them into a CRM; see README.md for which row exercises what.

CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  customer_no TEXT UNIQUE,               -- e.g. 'K-10001'; given by the office, NULL until then
  salutation TEXT,                        -- 'Herr', 'Frau', 'Dr.' ...
  first_name TEXT, last_name TEXT,
  company TEXT, department TEXT, position TEXT,
  email TEXT, email2 TEXT, email3 TEXT,
  phone_work TEXT, phone_mobile TEXT, phone_home TEXT, fax TEXT,
  street TEXT, zip TEXT, city TEXT, state TEXT, country TEXT,
  website TEXT, birthday TEXT,            -- ISO 'YYYY-MM-DD'
  notes TEXT,
  outlook_sync INTEGER NOT NULL DEFAULT 1, -- sync marker: 1 = takes part in the Outlook sync
  outlook_uid TEXT,                       -- the address book's card id, once linked
  updated_at TEXT NOT NULL                -- ISO timestamp 'YYYY-MM-DD HH:MM:SS'
);

BEGIN TRANSACTION;

-- matched by e-mail
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (1, 'K-10001', 'Frau', 'Anna', 'Schröder', 'Bäckerei Schröder GmbH', 'Geschäftsführung', 'Geschäftsführerin', 'anna.schroeder@baeckerei-schroeder.example.de', NULL, NULL, '0511 3481120', NULL, NULL, '0511 3481129', 'Lister Meile 45', '30161', 'Hannover', 'Niedersachsen', 'Deutschland', 'www.baeckerei-schroeder.example.de', NULL, NULL, 1, NULL, '2026-06-03 09:12:44');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (2, 'K-10002', 'Herr', 'Jürgen', 'Weiß', 'Weiß & Söhne Metallbau GmbH', 'Vertrieb', 'Vertriebsleiter', 'j.weiss@weiss-metallbau.example.de', NULL, NULL, '0231 9876540', '0172 4455667', NULL, NULL, 'Hafenstraße 18', '44147', 'Dortmund', NULL, 'Deutschland', NULL, '1968-09-03', NULL, 1, NULL, '2025-11-20 14:03:10');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (3, 'K-10003', 'Dr.', 'Katharina', 'Vogel', 'Zahnarztpraxis Dr. Vogel', NULL, 'Zahnärztin', 'praxis@zahnarzt-vogel.example.de', NULL, NULL, '0761 2923300', '0160 95544332', NULL, NULL, 'Kaiser-Joseph-Straße 240', '79098', 'Freiburg im Breisgau', 'Baden-Württemberg', 'Deutschland', NULL, NULL, NULL, 1, NULL, '2026-11-18 16:40:02');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (4, 'K-10004', 'Herr', 'Thomas', 'Becker', 'Becker Logistik GmbH & Co. KG', 'Disposition', 'Disponent', 't.becker@becker-logistik.example.com', NULL, NULL, '+49 40 765432-12', '0151 28374650', NULL, NULL, 'Am Sandtorkai 37', '20457', 'Hamburg', NULL, 'Deutschland', NULL, NULL, NULL, 1, NULL, '2025-03-14 08:55:31');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (5, 'K-10005', 'Frau', 'Zoë', 'Lefèvre', 'Lefèvre Design Studio', NULL, 'Inhaberin', 'zoe@lefevre-design.example.org', NULL, NULL, '+49 (0)221 5708813', NULL, NULL, NULL, 'Ehrenstraße 41', '50672', 'Köln', NULL, 'Deutschland', 'www.lefevre-design.example.org', NULL, NULL, 1, NULL, '2026-02-09 11:27:18');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (6, 'K-10006', 'Herr', 'Søren', 'Kjærgaard', 'Nordsee Marine Service GmbH', 'Einkauf', 'Einkaufsleiter', 'soeren.kjaergaard@nordsee-marine.example.com', NULL, NULL, '0461 1507720', '0176 61234590', NULL, NULL, 'Schiffbrücke 22', '24939', 'Flensburg', 'Schleswig-Holstein', 'Deutschland', NULL, NULL, NULL, 1, NULL, '2025-09-30 10:01:55');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (7, 'K-10007', 'Frau', 'Claudia', 'Hoffmann', 'Hoffmann Steuerberatung', NULL, 'Steuerberaterin', 'kanzlei@hoffmann-stb.example.de', 'c.hoffmann@hoffmann-stb.example.de', NULL, '0341 2257890', NULL, NULL, '0341 2257899', 'Karl-Liebknecht-Straße 12', '04107', 'Leipzig', 'Sachsen', 'Deutschland', NULL, NULL, NULL, 1, NULL, '2024-10-07 15:45:00');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (8, 'K-10008', 'Herr', 'Mehmet', 'Yılmaz', 'Yılmaz Feinkost Import GmbH', 'Einkauf', 'Geschäftsführer', 'm.yilmaz@yilmaz-feinkost.example.de ', NULL, NULL, '0911 9361450', '01577 1234560', NULL, NULL, 'Fürther Straße 212', '90429', 'Nürnberg', 'Bayern', 'Deutschland', NULL, NULL, NULL, 1, NULL, '2026-04-22 13:30:12');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (9, 'K-10009', 'Frau', 'Birgit', 'Krämer', 'Krämer Immobilien GmbH', 'Vermietung', 'Prokuristin', 'b.kraemer@kraemer-immobilien.example.de', NULL, NULL, '069 27109-0', '0170 3322114', NULL, NULL, 'Hanauer Landstraße 126', '60314', 'Frankfurt am Main', 'Hessen', 'Deutschland', NULL, NULL, 'Ansprechpartnerin für Gewerbeobjekte.
Bevorzugt Rückruf nachmittags.
Vertretung: Herr Kühn (Durchwahl -15).', 1, NULL, '2026-07-01 09:00:00');

-- matched by phone number
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (10, 'K-10010', 'Herr', 'Markus', 'Hartmann', 'Hartmann Bau GmbH', 'Bauleitung', 'Bauleiter', 'm.hartmann@hartmann-bau.example.de', NULL, NULL, '0345 6813370', '0171 2345678', NULL, NULL, 'Merseburger Straße 155', '06112', 'Halle (Saale)', 'Sachsen-Anhalt', 'Deutschland', NULL, NULL, NULL, 1, NULL, '2025-05-12 07:48:29');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (11, 'K-10011', 'Frau', 'Petra', 'Lange', 'Lange Consulting', NULL, 'Beraterin', NULL, NULL, NULL, '089/123456-0', NULL, NULL, NULL, 'Leopoldstraße 77', '80802', 'München', 'Bayern', 'Deutschland', NULL, NULL, NULL, 1, NULL, '2024-12-02 17:20:41');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (12, 'K-10012', 'Herr', 'Andreas', 'Fischer', 'Fischer Druck & Medien GmbH', 'Produktion', 'Produktionsleiter', 'a.fischer@fischer-druck.example.de', NULL, NULL, '+49 (0)30 8890123', NULL, NULL, NULL, 'Oranienstraße 183', '10999', 'Berlin', NULL, 'Deutschland', NULL, NULL, NULL, 1, NULL, '2026-01-15 12:05:09');

-- matched by name only
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (13, 'K-10013', 'Herr', 'Stefan', 'Mueller', 'Elektro Hansen KG', 'Kundendienst', 'Elektromeister', 's.mueller@elektro-hansen.example.de', NULL, NULL, '0431 6623140', '0152 33445566', NULL, NULL, 'Eckernförder Straße 219', '24119', 'Kronshagen', 'Schleswig-Holstein', 'Deutschland', NULL, NULL, NULL, 1, NULL, '2025-08-19 10:10:10');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (14, 'K-10014', 'Frau', 'Sabine', 'GROSS', 'Kanzlei Brandt & Partner', 'Arbeitsrecht', 'Rechtsanwältin', 's.gross@brandt-partner.example.de', NULL, NULL, '0421 3344550', NULL, NULL, NULL, 'Am Wall 140', '28195', 'Bremen', NULL, 'Deutschland', NULL, NULL, NULL, 1, NULL, '2023-06-27 11:11:47');

-- stamped by a previous sync (X-CRM-CUSTOMER-NO)
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (15, 'K-10015', 'Herr', 'Klaus', 'Zimmermann', 'Zimmermann Haustechnik GmbH', NULL, 'Inhaber', 'k.zimmermann@zimmermann-haustechnik.example.de', NULL, NULL, '0711 6409871', '0173 9081726', NULL, NULL, 'Böblinger Straße 68', '70199', 'Stuttgart', 'Baden-Württemberg', 'Deutschland', NULL, NULL, NULL, 1, '3c9f2b71-5d4e-4a8b-9f61-0e2d7c1a4b55', '2026-10-02 08:30:00');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (16, 'K-10016', 'Frau', 'Ingrid', 'Bauer', 'Bauer Garten- und Landschaftsbau', NULL, 'Geschäftsführerin', 'info@bauer-galabau.example.de', NULL, NULL, '08031 2354410', NULL, NULL, NULL, 'Kufsteiner Straße 90', '83022', 'Rosenheim', 'Bayern', 'Deutschland', 'www.bauer-galabau.example.de', NULL, NULL, 1, 'E4B1C0A2-7D3F-4C65-9A18-2F5B6D7E8C90', '2026-10-02 08:30:00');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (17, 'K-10017', 'Herr', 'Lukas', 'Schäfer', 'Schäfer Fahrzeugtechnik GmbH', 'Werkstatt', 'Werkstattleiter', 'l.schaefer@schaefer-kfz.example.de', NULL, NULL, '0621 4307720', '0162 8877665', NULL, NULL, 'Industriestraße 31', '68169', 'Mannheim', 'Baden-Württemberg', 'Deutschland', NULL, NULL, NULL, 1, NULL, '2026-11-19 15:02:37');

-- only in the CRM
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (18, 'K-10018', 'Herr', 'Dieter', 'Köhler', 'Köhler Sanitär GmbH', NULL, 'Installateurmeister', 'd.koehler@koehler-sanitaer.example.de', NULL, NULL, '0234 9126650', NULL, NULL, '0234 9126659', 'Herner Straße 299', '44809', 'Bochum', NULL, 'Deutschland', NULL, '1962-11-30', NULL, 1, NULL, '2024-03-18 10:22:05');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (19, 'K-10019', 'Frau', 'Elif', 'Demir', 'Demir Reisen GmbH', 'Buchung', 'Reiseverkehrskauffrau', 'elif.demir@demir-reisen.example.com', NULL, NULL, '+49 711 25873300', '+49 1590 1234567', NULL, NULL, 'Königstraße 28', '70173', 'Stuttgart', NULL, 'Deutschland', NULL, NULL, NULL, 1, NULL, '2026-09-09 09:09:09');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (20, 'K-10020', 'Herr', 'Wolfgang', 'Richter', 'Richter Elektrotechnik', NULL, 'Inhaber', 'w.richter@richter-elektro.example.de', NULL, NULL, '030 7712345', NULL, NULL, NULL, 'Tempelhofer Damm 145', '12099', 'Berlin', NULL, 'Deutschland', NULL, NULL, NULL, 1, NULL, '2025-12-01 16:16:16');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (21, 'K-10021', 'Frau', 'Johanna', 'Seidel', 'Seidel Verlag GmbH', 'Lektorat', 'Lektorin', 'j.seidel@seidel-verlag.example.de', NULL, NULL, '0351 4960213', NULL, NULL, NULL, 'Königsbrücker Straße 15', '01099', 'Dresden', 'Sachsen', 'Deutschland', 'https://www.seidel-verlag.example.de/', NULL, 'Katalog 2027 zugesagt.', 1, NULL, '2026-08-14 14:14:00');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (22, 'K-10022', 'Herr', 'Nikolaus', 'Wolf', 'Hotel Zur Post', 'Direktion', 'Hoteldirektor', 'direktion@hotel-zur-post.example.de', 'n.wolf@hotel-zur-post.example.de', NULL, '08821 7090', NULL, NULL, '08821 709-99', 'Ludwigstraße 90', '82467', 'Garmisch-Partenkirchen', 'Bayern', 'Deutschland', NULL, NULL, NULL, 1, NULL, '2025-07-07 07:07:07');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (23, 'K-10023', 'Frau', 'Małgorzata', 'Nowak', 'Nowak Transporte', 'Disposition', 'Disponentin', 'm.nowak@nowak-transporte.example.com', NULL, NULL, '+49 335 5562140', '01578 3421956', NULL, NULL, 'Karl-Marx-Straße 7', '15230', 'Frankfurt (Oder)', 'Brandenburg', 'Deutschland', NULL, NULL, NULL, 1, NULL, '2026-03-03 13:13:13');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (24, 'K-10024', 'Herr', 'Pieter', 'van der Berg', 'Van der Berg Gartenbedarf GmbH', NULL, 'Vertriebsleiter', 'p.vanderberg@vdberg-garten.example.com', NULL, NULL, '+49 2821 711390', '+31 6 12345678', NULL, NULL, 'Emmericher Straße 140', '47533', 'Kleve', NULL, 'Deutschland', NULL, NULL, NULL, 1, NULL, '2025-10-21 09:45:00');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (25, 'K-10025', 'Frau', 'Ulrike', 'Schulze', 'Apotheke am Markt', NULL, 'Apothekerin', 'u.schulze@apotheke-am-markt.example.de', NULL, NULL, '0251 48291-0', NULL, NULL, '0251 48291-20', 'Prinzipalmarkt 12', '48143', 'Münster', NULL, 'Deutschland', NULL, '1971-06-24', NULL, 1, NULL, '2024-05-05 12:00:00');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (26, 'K-10026', 'Herr', 'Tobias', 'Krüger', 'Krüger IT-Service', NULL, 'Inhaber', 'tobias@krueger-it.example.de', 'support@krueger-it.example.de', 'tobias.krueger@example.com', NULL, '0177 5566778', '0381 4445566', NULL, 'Lange Straße 12', '18055', 'Rostock', 'Mecklenburg-Vorpommern', 'Deutschland', 'www.krueger-it.example.de', NULL, NULL, 1, NULL, '2026-11-02 18:30:55');

-- out of scope (outlook_sync = 0)
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (27, 'K-10027', 'Herr', 'Heinz', 'Lehmann', 'Lehmann & Co. Baustoffe', NULL, 'Inhaber', 'h.lehmann@lehmann-baustoffe.example.de', NULL, NULL, '0521 123987', NULL, NULL, NULL, 'Herforder Straße 201', '33609', 'Bielefeld', NULL, 'Deutschland', NULL, NULL, 'Kunde inaktiv seit 2023.', 0, NULL, '2023-02-01 10:00:00');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (28, 'K-10028', 'Frau', 'Renate', 'Schmitt', NULL, NULL, NULL, 'renate.schmitt@example.com', NULL, NULL, NULL, NULL, '06131 581234', NULL, 'Gaustraße 33', '55116', 'Mainz', NULL, 'Deutschland', NULL, NULL, 'Privatkundin – nicht ins Outlook übernehmen.', 0, NULL, '2024-08-30 15:30:00');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (29, 'K-10029', 'Herr', 'Bernd', 'Neumann', 'Neumann Gerüstbau GmbH', NULL, 'Geschäftsführer', 'b.neumann@neumann-geruestbau.example.de', NULL, NULL, '0209 4400810', NULL, NULL, NULL, 'Bochumer Straße 88', '45886', 'Gelsenkirchen', NULL, 'Deutschland', NULL, NULL, 'Widerspruch gegen Werbung (DSGVO Art. 21), nicht synchronisieren.', 0, NULL, '2025-01-20 09:15:00');
INSERT INTO customers (id, customer_no, salutation, first_name, last_name, company, department, position, email, email2, email3, phone_work, phone_mobile, phone_home, fax, street, zip, city, state, country, website, birthday, notes, outlook_sync, outlook_uid, updated_at) VALUES
  (30, 'K-10030', 'Frau', 'Gisela', 'Hahn', 'Hahn Textil GmbH', 'Einkauf', 'Einkäuferin', 'g.hahn@hahn-textil.example.de', NULL, NULL, '0202 2659130', NULL, NULL, NULL, 'Friedrich-Engels-Allee 161', '42285', 'Wuppertal', NULL, 'Deutschland', NULL, NULL, 'Insolvenzverfahren 2024, Kontakt gesperrt.', 0, NULL, '2024-11-11 11:11:11');

COMMIT;
