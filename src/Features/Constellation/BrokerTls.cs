using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using RabbitMQ.Client;

namespace Hive.Features.Constellation;

/// <summary>The TLS side of the broker connection (<see cref="TlsOptions"/>).</summary>
internal static class BrokerTls
{
    public static X509Certificate2Collection ReadAuthorities(string path)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(path);
        return certificates;
    }

    /// <summary>The TLS settings for a connection to <paramref name="host"/> (whose name the certificate must carry unless <c>ServerName</c> says another).</summary>
    public static SslOption For(BrokerOptions broker, string host) => broker.Tls.Enabled
        ? new SslOption
        {
            Enabled = true,
            ServerName = string.IsNullOrEmpty(broker.Tls.ServerName) ? host : broker.Tls.ServerName,
            CertificateValidationCallback = string.IsNullOrEmpty(broker.Tls.CaFile) ? null : TrustOnly(ReadAuthorities(broker.Tls.CaFile)),
        }
        : new SslOption { Enabled = false };

    /// <summary>A private CA: the chain must end at one of <paramref name="roots"/> (not the system's), and the name must match.</summary>
    private static RemoteCertificateValidationCallback TrustOnly(X509Certificate2Collection roots) => (_, certificate, _, errors) =>
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(presented);
    };
}
