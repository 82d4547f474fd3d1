//! A throwaway certificate authority and server certificate for `127.0.0.1` and
//! `localhost`, generated per test so no key material lives in the repository.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

/// PEM files written into a test's directory.
pub struct TestTls {
    /// The CA certificate clients trust.
    pub ca_path: PathBuf,
    /// The server's certificate, signed by the CA.
    pub cert_path: PathBuf,
    /// The server's private key.
    pub key_path: PathBuf,
    /// The CA certificate, PEM.
    pub ca_pem: Vec<u8>,
}

impl TestTls {
    /// Generates a CA and a server certificate into `dir`.
    pub fn generate(dir: &Path) -> TestTls {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "tracehound test CA");
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = ca_params.self_signed(&ca_key).expect("self-sign the CA");

        let server_key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("server params");
        params.distinguished_name.push(DnType::CommonName, "tracehound test server");
        let cert = params.signed_by(&server_key, &ca, &ca_key).expect("sign the server certificate");

        std::fs::create_dir_all(dir).expect("create the TLS directory");
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            std::fs::write(&path, pem).expect("write PEM");
            path
        };
        TestTls {
            ca_path: write("ca.pem", &ca.pem()),
            cert_path: write("server.pem", &cert.pem()),
            key_path: write("server.key", &server_key.serialize_pem()),
            ca_pem: ca.pem().into_bytes(),
        }
    }

    /// The `serve` flags that turn TLS on with this certificate.
    pub fn serve_flags(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert_path.display().to_string(),
            "--tls-key".into(),
            self.key_path.display().to_string(),
        ]
    }

    /// A blocking HTTP client trusting only the test CA.
    pub fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&self.ca_pem).expect("CA PEM"))
            .build()
            .expect("HTTPS client")
    }
}
