/** A self-signed certificate for 127.0.0.1 (made with openssl), valid for a day, written to `dir`. */
export function selfSignedCertificate(dir: string): { key: string; cert: string; certFile: string };
