using System.Net.Http.Headers;
using Hive.Host;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// A real hive in this process, exactly as <c>Program.cs</c> builds it: real Kestrel on a free loopback port, real
/// Unix sockets, a real SQLite file in a data dir of its own, operator sign-in on (its clients send the token from
/// <c>&lt;DataDir&gt;/operator-token</c> as Bearer).
/// </summary>
public sealed class BenchHive : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BenchHive(WebApplication app, string dataDir)
    {
        _app = app;
        DataDir = dataDir;
        BaseAddress = new Uri(app.Urls.Single());
        Token = File.ReadAllText(Path.Combine(dataDir, "operator-token")).Trim();
    }

    public string DataDir { get; }
    public IServiceProvider Services => _app.Services;
    public Uri BaseAddress { get; }

    /// <summary>The operator token the host created in its data dir.</summary>
    public string Token { get; }

    /// <summary>An HTTP client of this hive, signed in (Bearer).</summary>
    public HttpClient CreateClient(HttpMessageHandler handler, TimeSpan timeout)
    {
        var client = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = timeout };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return client;
    }
    public string DatabasePath => Path.Combine(DataDir, "hive.db");
    public string WalPath => DatabasePath + "-wal";

    /// <param name="extraArgs">More configuration arguments, after the defaults (so they win).</param>
    /// <param name="configureServices">Runs after the hive's registrations (probes).</param>
    public static async Task<BenchHive> StartAsync(
        string dataDir, IEnumerable<string> agents, string synchronous,
        IEnumerable<string>? extraArgs = null, Action<IServiceCollection>? configureServices = null)
    {
        var args = new List<string>
        {
            "--urls", "http://127.0.0.1:0",
            "--Hive:DataDir", dataDir,
            "--Hive:Database:Synchronous", synchronous,
            "--Logging:LogLevel:Default", "Warning",
            "--Logging:LogLevel:Microsoft.AspNetCore", "Warning",
        };
        var i = 0;
        foreach (var agent in agents) args.AddRange([$"--Hive:Agents:{i++}", agent]);
        if (extraArgs is not null) args.AddRange(extraArgs);

        var app = HiveHost.Build([.. args], configureServices);
        await app.StartAsync();
        return new BenchHive(app, dataDir);
    }

    public string SocketPath(string agent) => Path.Combine(DataDir, "run", agent + ".sock");

    public Task<LineClient> ConnectAsync(string agent) => LineClient.ConnectAsync(SocketPath(agent));

    public long WalBytes => File.Exists(WalPath) ? new FileInfo(WalPath).Length : 0;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
    }
}
