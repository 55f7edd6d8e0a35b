using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Hive.Contracts.Json;
using Hive.Host;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Testing;

/// <summary>
/// A real hive in this process, built as <c>Program.cs</c> builds it: real Kestrel on a free loopback port, real Unix
/// sockets, a real SQLite file in a data dir of its own. Restartable on the same data dir. It signs in as a person
/// does: it reads the sign-in link from the 0600 file the host's sign-in line names (<c>&lt;DataDir&gt;/sign-in-link</c>), and
/// its <see cref="Http"/> client and event streams send the token as Bearer. When it is disposed it checks that the token
/// was in no log line (and throws if it was): a host prints it only to a terminal.
/// </summary>
public sealed class HiveInstance : IAsyncDisposable
{
    private static int _agentsMade;
    private readonly string[] _extraArgs;
    private readonly Action<IServiceCollection> _configureServices;
    private readonly bool _ownsDataDir;
    private WebApplication? _app;
    private int _starts;

    private HiveInstance(string dataDir, bool ownsDataDir, IEnumerable<string> agents, IEnumerable<string>? extraArgs,
        Action<IServiceCollection>? configureServices)
    {
        _configureServices = services =>
        {
            services.AddSingleton<ILoggerProvider>(Logs);
            configureServices?.Invoke(services);
        };
        DataDir = dataDir;
        _ownsDataDir = ownsDataDir;
        Agents = agents.ToArray();
        _extraArgs = extraArgs?.ToArray() ?? [];
    }

    public string DataDir { get; }
    /// <summary>The agents configured at start-up (<c>Hive:Agents</c>); <c>manager</c> is always there besides.</summary>
    public IReadOnlyList<string> Agents { get; private set; }
    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;

    /// <summary>Everything the host logged, across restarts.</summary>
    public LogCapture Logs { get; } = new();

    /// <summary>The sign-in link the host wrote at its latest start; null when sign-in is off.</summary>
    public Uri? SignInUrl { get; private set; }

    /// <summary>The operator token, taken from <see cref="SignInUrl"/>.</summary>
    public string? Token { get; private set; }

    public string DatabasePath => Path.Combine(DataDir, "hive.db");
    public string WalPath => DatabasePath + "-wal";
    public long WalBytes => File.Exists(WalPath) ? new FileInfo(WalPath).Length : 0;

    /// <summary>A hive on a temp data dir of its own (deleted when disposed).</summary>
    /// <param name="extraArgs">More configuration arguments, after the defaults (so they win).</param>
    public static Task<HiveInstance> StartAsync(string[]? agents = null, params string[] extraArgs) =>
        StartAsync(new HiveInstance(NewDataDir(), ownsDataDir: true, agents ?? ["alice", "bob"], extraArgs, null));

    /// <summary>A hive with extra services (probes) registered after the hive's own.</summary>
    public static Task<HiveInstance> StartAsync(string[] agents, Action<IServiceCollection> configureServices) =>
        StartAsync(new HiveInstance(NewDataDir(), ownsDataDir: true, agents, null, configureServices));

    /// <summary>A hive with more configuration arguments and extra services (probes; null for none).</summary>
    public static Task<HiveInstance> StartAsync(string[] agents, string[] extraArgs, Action<IServiceCollection>? configureServices) =>
        StartAsync(new HiveInstance(NewDataDir(), ownsDataDir: true, agents, extraArgs, configureServices));

    /// <summary>A hive on the caller's data dir, which is left in place when the hive is disposed.</summary>
    public static Task<HiveInstance> StartOnAsync(string dataDir, IEnumerable<string> agents, IEnumerable<string>? extraArgs = null,
        Action<IServiceCollection>? configureServices = null) =>
        StartAsync(new HiveInstance(dataDir, ownsDataDir: false, agents, extraArgs, configureServices));

    private static async Task<HiveInstance> StartAsync(HiveInstance instance)
    {
        try
        {
            await instance.StartAppAsync();
        }
        catch
        {
            try
            {
                await instance.DisposeAsync();
            }
            catch (Exception)
            {
                // A host that failed while starting may fail to stop too (its hosted services never ran): the start's
                // own exception is the one that says what went wrong.
            }
            throw;
        }
        return instance;
    }

    private static string NewDataDir() => Path.Combine(Path.GetTempPath(), "hive-test-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The command-line arguments of a hive on <paramref name="dataDir"/> with these agents, logging warnings and up.</summary>
    public static string[] ArgsFor(string dataDir, IEnumerable<string> agents, string urls = "http://127.0.0.1:0")
    {
        var args = new List<string> { "--urls", urls, "--Hive:DataDir", dataDir, "--Logging:LogLevel:Default", "Warning" };
        var i = 0;
        foreach (var agent in agents) args.AddRange([$"--Hive:Agents:{i++}", agent]);
        return args.ToArray();
    }

    private async Task StartAppAsync()
    {
        _app = HiveHost.Build([.. ArgsFor(DataDir, Agents), .. _extraArgs], _configureServices);
        await _app.StartAsync();
        _starts++;
        BaseAddress = new Uri(Hive.Host.Auth.ListenAddresses.Browsable(_app.Urls.Single())); // a wildcard bind is reached on loopback
        // The link is written when the server has started, so it is there by now (or sign-in is off).
        SignInUrl = ReadSignInLink(DataDir);
        Token = SignInUrl is null ? null : TokenOf(SignInUrl);
        Http = CreateClient();
    }

    /// <summary>The link in <c>&lt;DataDir&gt;/sign-in-link</c>, where the sign-in line points; null when there is none.</summary>
    public static Uri? ReadSignInLink(string dataDir)
    {
        var file = Path.Combine(dataDir, Hive.Host.Auth.OperatorToken.SignInLinkFileName);
        try
        {
            return File.ReadAllText(file).Trim() is { Length: > 0 } link ? new Uri(link) : null;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public static string TokenOf(Uri signInUrl) =>
        Uri.UnescapeDataString(signInUrl.Query.TrimStart('?').Split('&').Single(p => p.StartsWith("token=", StringComparison.Ordinal))["token=".Length..]);

    /// <summary>A client of this host: with the token as Bearer unless <paramref name="signedIn"/> is false.</summary>
    public HttpClient CreateClient(bool signedIn = true, HttpMessageHandler? handler = null, TimeSpan? timeout = null)
    {
        var client = handler is null ? new HttpClient() : new HttpClient(handler);
        client.BaseAddress = BaseAddress;
        client.Timeout = timeout ?? TimeSpan.FromSeconds(30);
        if (signedIn && Token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    /// <summary>
    /// Stops the host (gracefully) and starts a new one on the same data dir, optionally with other agents;
    /// <paramref name="whileDown"/> runs in between (a test's clock moved on while the host was down, say).
    /// </summary>
    public async Task RestartAsync(string[]? agents = null, Action? whileDown = null)
    {
        await StopAppAsync();
        whileDown?.Invoke();
        if (agents is not null) Agents = agents;
        await StartAppAsync();
    }

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>
    /// The in-process tier: a use case sent in a scope of its own, through the same pipeline (validation, the unit of
    /// work) a route or a socket verb sends it through, with no wire. For validation, 404 and 409 cases; the socket
    /// and HTTP tests keep the happy paths and the wire's own refusals (bad JSON, wrong types).
    /// </summary>
    public async Task<TResponse> SendAsync<TResponse>(IRequest<TResponse> request)
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request);
    }

    /// <summary>What a caller would be told when <paramref name="request"/> is refused (throws when it is not).</summary>
    public async Task<HiveError> RefusalOfAsync<TResponse>(IRequest<TResponse> request)
    {
        TResponse response;
        try
        {
            response = await SendAsync(request);
        }
        catch (Exception e)
        {
            return HiveError.From(e);
        }
        throw new InvalidOperationException($"expected a refusal, the request was carried out: {response}");
    }

    /// <summary>
    /// Adds an agent at run time under a name no other caller of this process gets (<paramref name="name"/> plus a
    /// number: <c>alice-7</c>), so tests that share a hive each have agents, inboxes and rows of their own.
    /// </summary>
    public async Task<string> NewAgentAsync(string name = "agent")
    {
        var unique = $"{name}-{Interlocked.Increment(ref _agentsMade)}";
        // Registered as the operator would an agent it runs itself: an external agent, socket only.
        await Service<MediatR.IMediator>().Send(new Hive.Features.Containers.CreateAgent.Command(unique, null, Driver: "external"));
        return unique;
    }

    /// <summary><see cref="NewAgentAsync"/> for each name, in order.</summary>
    public async Task<string[]> NewAgentsAsync(params string[] names)
    {
        var agents = new string[names.Length];
        for (var i = 0; i < names.Length; i++) agents[i] = await NewAgentAsync(names[i]);
        return agents;
    }

    /// <summary>Waits for a condition with a deadline (never a bare sleep).</summary>
    public static async Task Until(Func<bool> condition, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what ?? "a condition"}");
            await Task.Delay(5);
        }
    }

    /// <summary><see cref="Until"/> for a condition read over the wire.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, string? what = null) =>
        UntilAsync(condition, timeout ?? TimeSpan.FromSeconds(10), () => what ?? "a condition");

    /// <summary>
    /// <see cref="UntilAsync(Func{Task{bool}}, TimeSpan?, string?)"/> whose message is built when the wait fails, so it can
    /// name what was seen meanwhile (a child's log, say).
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what()}");
            await Task.Delay(20);
        }
    }

    private async Task StopAppAsync()
    {
        Http?.Dispose();
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    public string SocketPath(string agent) => Path.Combine(DataDir, "run", agent + ".sock");

    public Task<AgentClient> ConnectAsync(string agent) => AgentClient.ConnectAsync(SocketPath(agent));

    /// <summary>The raw line client (what the benchmarks measure with).</summary>
    public Task<LineClient> ConnectLinesAsync(string agent) => LineClient.ConnectAsync(SocketPath(agent));

    public Task<SseStream> OpenEventsAsync(long? lastEventId = null) => SseStream.OpenAsync(BaseAddress, Token, lastEventId);

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>A GET's body read as <typeparamref name="T"/> (the host's snake_case); throws unless the status is a success.</summary>
    public async Task<T> GetAsync<T>(string path)
    {
        using var response = await Http.GetAsync(path);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<T>(HiveJson.Options))!;
    }

    /// <summary>Reads the database file directly (its own connection), to assert what is persisted.</summary>
    public T QueryDb<T>(string sql, object? args = null) => QueryDb<T>(DataDir, sql, args);

    public List<T> QueryDbList<T>(string sql, object? args = null) => QueryDbList<T>(DataDir, sql, args);

    public static T QueryDb<T>(string dataDir, string sql, object? args = null)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "hive.db")};Pooling=False");
        connection.Open();
        return connection.QuerySingle<T>(sql, args);
    }

    /// <summary>Runs a statement on the live database from outside the host (a fault a test injects: a trigger that refuses a write).</summary>
    public void ExecuteDb(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(DataDir, "hive.db")};Pooling=False");
        connection.Open();
        connection.Execute(sql);
    }

    public static List<T> QueryDbList<T>(string dataDir, string sql, object? args = null)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "hive.db")};Pooling=False");
        connection.Open();
        return connection.Query<T>(sql, args).ToList();
    }

    /// <summary>Throws when the operator token is in any line logged so far.</summary>
    public void AssertTokenInNoLogLine()
    {
        if (Token is not null) Logs.AssertTokenInNoLine(Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAppAsync();
        }
        finally
        {
            // Even when the host cannot stop (one that failed while starting): its data dir is this instance's to remove.
            SqliteConnection.ClearAllPools();
            if (_ownsDataDir) await TestDirectories.DeleteAsync(DataDir);
        }
        // Every host, whatever it did and however many tests shared it: the token is in no log line.
        AssertTokenInNoLogLine();
    }
}
