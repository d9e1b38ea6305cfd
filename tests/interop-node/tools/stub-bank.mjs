// A deliberately small *fake* EBICS H004 bank, written only to study the Node client.
//
// It is NOT the emulator (that is crates/kontor-bank). It exists so that
//   1. we can capture the exact request XML the `ebics-client` package sends
//      (env CAPTURE_DIR=dir writes every request body there), and
//   2. we can prove that run.mjs works end to end before the Rust dispatcher is wired:
//      it answers INI/HIA/HPB/STA/C53 (and receipts) the way the Node client needs,
//      and offers the same admin endpoints run.mjs calls on the emulator
//      (POST /admin/users/{partner}/{user}/activate, GET /admin/bank-keys, GET /admin/downloads).
//
// Shortcuts (fine for a study tool, wrong for a bank): requests are picked apart with
// regular expressions, no signature is verified, the AuthSignature of responses is a dummy
// and the C53 payload is a bare camt.053 document instead of a ZIP container.
//
// Usage: node tools/stub-bank.mjs [port]   (prints "stub-bank listening on <url>")

import http from 'node:http';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

// Node >= 20.11 refuses RSA PKCS#1 v1.5 *private decryption* (CVE-2023-46809); like the client
// itself we use node-rsa (a dependency of ebics-client) for that one operation.
const NodeRSA = createRequire(import.meta.url)('node-rsa');

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const captureDir = process.env.CAPTURE_DIR ?? null;
const hostId = process.env.HOST_ID ?? 'KONTORBANK';
const NS = 'urn:org:ebics:H004';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

if (captureDir) fs.mkdirSync(captureDir, { recursive: true });

// --- bank keys --------------------------------------------------------------
const bankKey = (name) => {
	const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
	const jwk = publicKey.export({ format: 'jwk' });
	return {
		name,
		privateKey,
		mod: Buffer.from(jwk.n, 'base64url'),
		exp: Buffer.from(jwk.e, 'base64url'),
	};
};
const bankKeys = { X002: bankKey('X002'), E002: bankKey('E002') };

// EBICS public key hash (H004 §/Appendix "hash value of public keys"): SHA-256 over
// "<exponent hex> <modulus hex>", lower case, leading zeros removed.
const keyHash = ({ mod, exp }) => {
	const hex = (b) => b.toString('hex').replace(/^0+/, '').toLowerCase();
	return crypto.createHash('sha256').update(`${hex(exp)} ${hex(mod)}`).digest();
};

// --- tiny state ---------------------------------------------------------------
const users = new Map(); // `${partner}/${user}` -> { A006, X002, E002, active }
const transactions = new Map(); // txid -> { orderType, transactionKey?, userKey? }
const downloads = []; // served payloads
let requestCounter = 0;
let orderCounter = 0;

const pick = (xml, tag) => {
	const m = xml.match(new RegExp(`<(?:\\w+:)?${tag}(?:\\s[^>]*)?>([^<]*)</(?:\\w+:)?${tag}>`));
	return m ? m[1] : null;
};
const rootName = (xml) => {
	const m = xml.replace(/^<\?xml[^>]*\?>/, '').match(/<(?:\w+:)?(\w+)/);
	return m ? m[1] : null;
};
const parseRsaKeyValue = (xml, infoTag) => {
	const block = xml.match(new RegExp(`<(?:\\w+:)?${infoTag}[\\s>][\\s\\S]*?</(?:\\w+:)?${infoTag}>`));
	if (!block) return null;
	return {
		mod: Buffer.from(pick(block[0], 'Modulus'), 'base64'),
		exp: Buffer.from(pick(block[0], 'Exponent'), 'base64'),
	};
};
const unsignedModulus = (mod) => {
	let i = 0;
	while (i < mod.length - 1 && mod[i] === 0) i += 1;
	return mod.subarray(i);
};
const publicKeyOf = ({ mod, exp }) => crypto.createPublicKey({
	key: { kty: 'RSA', n: unsignedModulus(mod).toString('base64url'), e: exp.toString('base64url') },
	format: 'jwk',
});

// --- E002 (server side) -----------------------------------------------------------
// Pad like EBICS E002 (ANSI X9.23 style: zeros, last byte = pad length, always >= 1 byte),
// AES-128-CBC with a zero IV, transaction key RSA PKCS#1 v1.5 encrypted for the user's E002 key.
const e002Encrypt = (plain, userE002) => {
	const transactionKey = crypto.randomBytes(16);
	const padLen = 16 - (plain.length % 16);
	const padded = Buffer.concat([plain, Buffer.alloc(padLen - 1), Buffer.from([padLen])]);
	const cipher = crypto.createCipheriv('aes-128-cbc', transactionKey, Buffer.alloc(16)).setAutoPadding(false);
	const orderData = Buffer.concat([cipher.update(padded), cipher.final()]);
	const encryptedKey = crypto.publicEncrypt(
		{ key: publicKeyOf(userE002), padding: crypto.constants.RSA_PKCS1_PADDING },
		transactionKey,
	);
	return { orderData: orderData.toString('base64'), transactionKey: encryptedKey.toString('base64') };
};

const e002Decrypt = (base64Data, transactionKey) => {
	const decipher = crypto.createDecipheriv('aes-128-cbc', transactionKey, Buffer.alloc(16)).setAutoPadding(false);
	const padded = Buffer.concat([decipher.update(Buffer.from(base64Data, 'base64')), decipher.final()]);
	return padded.subarray(0, padded.length - padded[padded.length - 1]);
};
const bankE002Decrypt = (base64Key) => {
	const rsa = new NodeRSA(bankKeys.E002.privateKey.export({ type: 'pkcs1', format: 'pem' }), 'pkcs1-private-pem', {
		encryptionScheme: 'pkcs1',
		environment: 'browser',
	});
	return rsa.decrypt(Buffer.from(base64Key, 'base64'));
};

// A006 = RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32). Report whether the signature verifies
// over the document itself or over its SHA-256 hash (i.e. a double hash inside PSS).
const checkA006 = (document, signatureB64, userA006) => {
	const key = publicKeyOf(userA006);
	const verify = (message) => crypto.verify('sha256', message, {
		key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32,
	}, Buffer.from(signatureB64, 'base64'));
	return {
		verifies_over_document: verify(document),
		verifies_over_sha256_of_document: verify(crypto.createHash('sha256').update(document).digest()),
	};
};

// --- response builders ------------------------------------------------------------
const codeTexts = {
	'000000': '[EBICS_OK] OK',
	'011000': '[EBICS_DOWNLOAD_POSTPROCESS_DONE] Positive acknowledgement received',
	'091002': '[EBICS_INVALID_USER_OR_USER_STATE] Subscriber unknown or subscriber state inadmissible',
	'091003': '[EBICS_USER_UNKNOWN] Subscriber unknown',
	'091101': '[EBICS_TX_UNKNOWN_TXID] Unknown transaction ID',
	'091005': '[EBICS_INVALID_ORDER_TYPE] Order type not supported',
	'090005': '[EBICS_NO_DOWNLOAD_DATA_AVAILABLE] No data are available at present for the selected download order type',
};
const dummyAuthSignature = '<AuthSignature><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#xpointer(//*[@authenticate=\'true\'])"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></AuthSignature>';
const dataTransfer = (enc, userE002) => `<DataTransfer><DataEncryptionInfo authenticate="true"><EncryptionPubKeyDigest Version="E002" Algorithm="${SHA256}">${keyHash(userE002).toString('base64')}</EncryptionPubKeyDigest><TransactionKey>${enc.transactionKey}</TransactionKey></DataEncryptionInfo><OrderData>${enc.orderData}</OrderData></DataTransfer>`;

const keyManagementResponse = ({ technical = '000000', business = '000000', orderId = null, body = '' }) => `<?xml version="1.0" encoding="UTF-8"?>
<ebicsKeyManagementResponse xmlns="${NS}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Version="H004" Revision="1"><header authenticate="true"><static/><mutable>${orderId ? `<OrderID>${orderId}</OrderID>` : ''}<ReturnCode>${technical}</ReturnCode><ReportText>${codeTexts[technical] ?? technical}</ReportText></mutable></header><body>${body}<ReturnCode authenticate="true">${business}</ReturnCode></body></ebicsKeyManagementResponse>`;

const ebicsResponse = ({ technical = '000000', business = '000000', phase, txid = null, numSegments = null, segment = null, body = '' }) => `<?xml version="1.0" encoding="UTF-8"?>
<ebicsResponse xmlns="${NS}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Version="H004" Revision="1"><header authenticate="true"><static>${txid ? `<TransactionID>${txid}</TransactionID>` : ''}${numSegments ? `<NumSegments>${numSegments}</NumSegments>` : ''}</static><mutable><TransactionPhase>${phase}</TransactionPhase>${segment ? `<SegmentNumber lastSegment="true">${segment}</SegmentNumber>` : ''}<ReturnCode>${technical}</ReturnCode><ReportText>${codeTexts[technical] ?? technical}</ReportText></mutable></header>${dummyAuthSignature}<body>${body}<ReturnCode authenticate="true">${business}</ReturnCode></body></ebicsResponse>`;

const hpbOrderData = () => {
	const info = (tag, key, versionTag) => `<${tag}><PubKeyValue><ds:RSAKeyValue><ds:Modulus>${key.mod.toString('base64')}</ds:Modulus><ds:Exponent>${key.exp.toString('base64')}</ds:Exponent></ds:RSAKeyValue></PubKeyValue><${versionTag}>${key.name}</${versionTag}></${tag}>`;
	return `<?xml version="1.0" encoding="UTF-8"?><HPBResponseOrderData xmlns="${NS}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">${info('AuthenticationPubKeyInfo', bankKeys.X002, 'AuthenticationVersion')}${info('EncryptionPubKeyInfo', bankKeys.E002, 'EncryptionVersion')}<HostID>${hostId}</HostID></HPBResponseOrderData>`;
};

const statementPayload = (orderType, start, end) => {
	if (orderType === 'STA')
		return Buffer.from(`:20:STUB${start ?? ''}\r\n:25:DE89370400440532013000\r\n:28C:1/1\r\n:60F:C${(start ?? '2024-01-01').replace(/-/g, '').slice(2)}EUR1000,00\r\n:61:${(end ?? '2024-01-01').replace(/-/g, '').slice(2)}C10,00NTRFNONREF\r\n:86:stub entry\r\n:62F:C${(end ?? '2024-01-01').replace(/-/g, '').slice(2)}EUR1010,00\r\n-`, 'latin1');
	return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>STUB-${start}-${end}</MsgId></GrpHdr></BkToCstmrStmt></Document>`);
};

// --- request handling ----------------------------------------------------------------
const handleEbics = (xml) => {
	const root = rootName(xml);
	const orderType = pick(xml, 'OrderType');
	const partner = pick(xml, 'PartnerID');
	const userId = pick(xml, 'UserID');
	const key = `${partner}/${userId}`;
	const user = users.get(key);

	if (root === 'ebicsUnsecuredRequest') {
		const orderData = zlib.inflateSync(Buffer.from(pick(xml, 'OrderData'), 'base64')).toString('utf8');
		const record = users.get(key) ?? { active: false };
		if (orderType === 'INI') record.A006 = parseRsaKeyValue(orderData, 'SignaturePubKeyInfo');
		if (orderType === 'HIA') {
			record.X002 = parseRsaKeyValue(orderData, 'AuthenticationPubKeyInfo');
			record.E002 = parseRsaKeyValue(orderData, 'EncryptionPubKeyInfo');
		}
		users.set(key, record);
		return { label: orderType, xml: keyManagementResponse({}), orderData };
	}

	if (root === 'ebicsNoPubKeyDigestsRequest') {
		if (!user?.E002 || !user.active) return { label: orderType, xml: keyManagementResponse({ technical: '091002' }) };
		const enc = e002Encrypt(zlib.deflateSync(Buffer.from(hpbOrderData())), user.E002);
		return { label: orderType, xml: keyManagementResponse({ body: dataTransfer(enc, user.E002) }) };
	}

	if (root === 'ebicsRequest') {
		const phase = pick(xml, 'TransactionPhase');
		if (phase === 'Receipt') {
			const txid = pick(xml, 'TransactionID');
			const tx = transactions.get(txid);
			if (!tx) return { label: 'RECEIPT', xml: ebicsResponse({ technical: '091101', phase, txid }) };
			transactions.delete(txid);
			return { label: `${tx.orderType}-receipt`, xml: ebicsResponse({ technical: '011000', phase, txid }) };
		}
		if (phase === 'Transfer') {
			const txid = pick(xml, 'TransactionID');
			const tx = transactions.get(txid);
			let orderData;
			let a006 = null;
			if (tx?.transactionKey) {
				const document = zlib.inflateSync(e002Decrypt(pick(xml, 'OrderData'), tx.transactionKey));
				orderData = document.toString('utf8');
				const sig = tx.signatureData && pick(tx.signatureData, 'SignatureValue');
				const signer = tx.userKey && users.get(tx.userKey);
				if (sig && signer?.A006) a006 = checkA006(document, sig, signer.A006);
			}
			return {
				label: `${tx?.orderType ?? 'UNKNOWN'}-transfer`,
				xml: ebicsResponse({ phase, txid, segment: 1 }),
				orderData,
				extra: a006 ? { name: 'a006-check.json', content: JSON.stringify(a006, null, 2) } : null,
			};
		}
		if (!user?.active) return { label: orderType, xml: ebicsResponse({ technical: '091002', phase }) };
		if (!['STA', 'C53'].includes(orderType)) {
			if (xml.includes('<SignatureData')) { // an upload initialisation
				const txid = crypto.randomBytes(16).toString('hex').toUpperCase();
				orderCounter += 1;
				const transactionKey = bankE002Decrypt(pick(xml, 'TransactionKey'));
				const signatureData = zlib.inflateSync(e002Decrypt(pick(xml, 'SignatureData'), transactionKey)).toString('utf8');
				transactions.set(txid, { orderType, transactionKey, signatureData, userKey: key });
				return {
					label: `${orderType}-init`,
					xml: ebicsResponse({ phase, txid }).replace('<ReturnCode>', `<OrderID>A${String(orderCounter).padStart(3, '0')}</OrderID><ReturnCode>`),
					orderData: signatureData,
				};
			}
			return { label: orderType, xml: ebicsResponse({ technical: '091005', phase }) };
		}
		const start = pick(xml, 'Start');
		const end = pick(xml, 'End');
		const payload = statementPayload(orderType, start, end);
		const enc = e002Encrypt(zlib.deflateSync(payload), user.E002);
		const txid = crypto.randomBytes(16).toString('hex').toUpperCase();
		transactions.set(txid, { orderType });
		downloads.push({
			order_type: orderType,
			transaction_id: txid,
			partner_id: partner,
			user_id: userId,
			size: payload.length,
			sha256: crypto.createHash('sha256').update(payload).digest('hex'),
		});
		return {
			label: `${orderType}-init`,
			xml: ebicsResponse({ phase, txid, numSegments: 1, segment: 1, body: dataTransfer(enc, user.E002) }),
		};
	}
	return { label: 'unknown', xml: keyManagementResponse({ technical: '061002' }) };
};

const json = (res, status, body) => {
	res.writeHead(status, { 'content-type': 'application/json' });
	res.end(JSON.stringify(body));
};

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const body = Buffer.concat(chunks).toString('utf8');
		try {
			const activate = req.url.match(/^\/admin\/users\/([^/]+)\/([^/]+)\/activate$/);
			if (req.method === 'POST' && activate) {
				const key = `${decodeURIComponent(activate[1])}/${decodeURIComponent(activate[2])}`;
				const user = users.get(key);
				if (!user?.A006 || !user.X002) return json(res, 409, { error: 'INI and HIA not both received' });
				user.active = true;
				return json(res, 200, { partner_id: activate[1], user_id: activate[2], status: 'Ready' });
			}
			if (req.method === 'GET' && req.url === '/admin/bank-keys') {
				return json(res, 200, {
					host_id: hostId,
					placeholder: false,
					authentication: { version: 'X002', hash_sha256_hex: keyHash(bankKeys.X002).toString('hex') },
					encryption: { version: 'E002', hash_sha256_hex: keyHash(bankKeys.E002).toString('hex') },
				});
			}
			if (req.method === 'GET' && req.url === '/admin/downloads') return json(res, 200, { downloads });
			if (req.method === 'GET' && req.url === '/admin/health') return json(res, 200, { status: 'ok', stub: true });
			if (req.method === 'POST' && req.url === '/ebicsweb') {
				requestCounter += 1;
				const out = handleEbics(body);
				if (captureDir) {
					const stem = `${String(requestCounter).padStart(2, '0')}-${out.label}`;
					fs.writeFileSync(path.join(captureDir, `${stem}.request.xml`), body);
					fs.writeFileSync(path.join(captureDir, `${stem}.request.headers.json`), JSON.stringify(req.headers, null, 2));
					if (out.orderData) fs.writeFileSync(path.join(captureDir, `${stem}.orderdata.xml`), out.orderData);
					if (out.extra) fs.writeFileSync(path.join(captureDir, `${stem}.${out.extra.name}`), out.extra.content);
					fs.writeFileSync(path.join(captureDir, `${stem}.response.xml`), out.xml);
				}
				res.writeHead(200, { 'content-type': 'text/xml; charset=UTF-8' });
				return res.end(out.xml);
			}
			return json(res, 404, { error: `no route ${req.method} ${req.url}` });
		} catch (err) {
			return json(res, 500, { error: String(err?.stack ?? err) });
		}
	});
});

server.listen(port, '127.0.0.1', () => {
	console.log(`stub-bank listening on http://127.0.0.1:${server.address().port}`);
});
