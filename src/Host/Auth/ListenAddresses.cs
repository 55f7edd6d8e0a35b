using System.Net;
using Microsoft.AspNetCore.Http;

namespace Hive.Host.Auth;

/// <summary>One address the host is configured to listen on.</summary>
public sealed record ListenAddress(string Url, string Host, bool IsLoopback);

/// <summary>The addresses the configuration asks Kestrel to listen on, read before the server starts.</summary>
public static class ListenAddresses
{
    /// <summary>
    /// Every <c>Urls</c> entry, plus any <c>Kestrel:Endpoints:*:Url</c> (Kestrel prefers those), plus
    /// <c>http_ports</c>/<c>https_ports</c> (all interfaces) when no Urls are set; Kestrel's own default
    /// (<c>http://localhost:5000</c>) when nothing is.
    /// </summary>
    public static IReadOnlyList<ListenAddress> From(IConfiguration configuration)
    {
        var urls = Split(configuration["urls"]).ToList();
        urls.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>().Where(u => u.Length > 0));
        if (urls.Count == 0)
        {
            urls.AddRange(Split(configuration["http_ports"]).Select(p => $"http://*:{p}"));
            urls.AddRange(Split(configuration["https_ports"]).Select(p => $"https://*:{p}"));
        }
        if (urls.Count == 0) urls.Add("http://localhost:5000");
        return urls.Select(Parse).ToList();
    }

    public static ListenAddress Parse(string url)
    {
        BindingAddress binding;
        try
        {
            binding = BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            return new ListenAddress(url, "", IsLoopback: false);
        }
        if (binding.IsUnixPipe) return new ListenAddress(url, "", IsLoopback: false);

        // Kestrel binds `localhost` to loopback only; any other name, `*`, `+`, 0.0.0.0 and [::] to every interface.
        var host = binding.Host;
        var loopback = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
                       || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
        return new ListenAddress(url, host, loopback);
    }

    /// <summary>An address a browser on this machine can open: a wildcard bind is reached through loopback.</summary>
    public static string Browsable(string boundAddress)
    {
        var binding = BindingAddress.Parse(boundAddress);
        var host = binding.Host switch
        {
            "*" or "+" or "0.0.0.0" => "127.0.0.1",
            "[::]" => "[::1]",
            var h => h,
        };
        return $"{binding.Scheme}://{host}:{binding.Port}";
    }

    private static IEnumerable<string> Split(string? list) =>
        (list ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
