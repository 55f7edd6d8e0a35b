using System.Formats.Tar;
using System.IO.Compression;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Hive.Tests.Features.Egress;

/// <summary>
/// A stand-in npm registry serving one package: its packument at <c>/NAME</c> and its tarball, over bare HTTP/1.1 on a
/// socket the test network hands over (one request per connection, as the egress proxy forwards plain http).
/// </summary>
internal sealed class NpmRegistry(string package, string version)
{
    public const string IndexJs = "module.exports = 'reached through the hive';\n";

    /// <summary>npm on this machine's PATH, or null.</summary>
    public static string? Npm { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(dir => Path.Combine(dir, "npm")).FirstOrDefault(File.Exists);

    private readonly byte[] _tarball = Tarball(package, version);
    private int _tarballsServed;

    /// <summary>The registry's URL as the agent names it (set once the server listens).</summary>
    public string BaseUrl { get; set; } = "";

    public int TarballsServed => Volatile.Read(ref _tarballsServed);

    private string TarballPath => $"/{package}/-/{package}-{version}.tgz";

    public async Task ServeAsync(Socket connection)
    {
        using (connection)
        {
            var head = await ReadHeadAsync(connection);
            var target = head.Split(' ') is [_, var t, ..] ? t : "";
            var (status, type, body) = target switch
            {
                _ when target == "/" + package => ("200 OK", "application/json", Encoding.UTF8.GetBytes(Packument())),
                _ when target == TarballPath => ("200 OK", "application/octet-stream", _tarball),
                _ => ("404 Not Found", "application/json", Encoding.UTF8.GetBytes("{\"error\":\"not found\"}")),
            };
            if (target == TarballPath) Interlocked.Increment(ref _tarballsServed);
            await connection.SendAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 {status}\r\nContent-Type: {type}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
            await connection.SendAsync(body);
            connection.Shutdown(SocketShutdown.Send);
        }
    }

    private static async Task<string> ReadHeadAsync(Socket connection)
    {
        var head = new StringBuilder();
        var buffer = new byte[4096];
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await connection.ReceiveAsync(buffer);
            if (read == 0) break;
            head.Append(Encoding.Latin1.GetString(buffer, 0, read));
        }
        return head.ToString();
    }

    private string Packument()
    {
        var integrity = "sha512-" + Convert.ToBase64String(SHA512.HashData(_tarball));
        var shasum = Convert.ToHexStringLower(SHA1.HashData(_tarball));
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["name"] = package,
            ["dist-tags"] = new { latest = version },
            ["versions"] = new Dictionary<string, object>
            {
                [version] = new
                {
                    name = package, version, main = "index.js",
                    dist = new { tarball = BaseUrl.TrimEnd('/') + TarballPath, integrity, shasum },
                },
            },
        });
    }

    private static byte[] Tarball(string package, string version)
    {
        using var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(zip, TarEntryFormat.Ustar))
        {
            Add(tar, "package/package.json", $"{{\"name\":\"{package}\",\"version\":\"{version}\",\"main\":\"index.js\"}}\n");
            Add(tar, "package/index.js", IndexJs);
        }
        return gz.ToArray();
    }

    private static void Add(TarWriter tar, string path, string text)
    {
        var entry = new UstarTarEntry(TarEntryType.RegularFile, path)
        {
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)),
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        };
        tar.WriteEntry(entry);
    }
}
