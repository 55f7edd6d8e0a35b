using System.Collections.Concurrent;
using System.Text;
using Hive.Contracts.Json;
using Hive.Features.Forge;
using Hive.Shared.Dashboard;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Features.Forge;

/// <summary>
/// A hive wired to a fresh <see cref="FakeForgejo"/> (bootstrap admin = the fake's <c>root</c>, 1 s API timeout, the
/// process driver), recording every dashboard event it publishes and every problem+json body its tests saw. Disposing it
/// checks that no secret the forge ever issued or was given is in the host's log, an event or a problem body.
/// </summary>
internal sealed class ForgeHive : IAsyncDisposable
{
    private ForgeHive(FakeForgejo forge, HiveInstance hive, EventLog events)
    {
        Forge = forge;
        Hive = hive;
        Events = events;
        Http = hive.CreateClient(handler: new ProblemRecorder(ProblemBodies) { InnerHandler = new HttpClientHandler() });
    }

    /// <summary>The operator's client for the forge tests: every problem+json body it receives is kept for the leak check.</summary>
    public HttpClient Http { get; }

    private sealed class ProblemRecorder(ConcurrentQueue<string> bodies) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                bodies.Enqueue(await response.Content.ReadAsStringAsync(cancellationToken));
            }
            return response;
        }
    }

    public FakeForgejo Forge { get; }
    public HiveInstance Hive { get; }
    public EventLog Events { get; }
    public ConcurrentQueue<string> ProblemBodies { get; } = new();

    public string CoreTokenFile => Path.Combine(Hive.DataDir, "forge-core-token");
    public string TokenFileOf(string agent) => Path.Combine(Hive.DataDir, "agents", agent, "state", "forge-token");

    /// <summary>A hive on a fresh forge; <paramref name="prepare"/> may inject faults before the hive's start-up sweep.</summary>
    public static async Task<ForgeHive> StartAsync(string[]? agents = null, Action<FakeForgejo>? prepare = null, params string[] args)
    {
        var forge = await FakeForgejo.StartAsync();
        prepare?.Invoke(forge);
        var events = new EventLog();
        try
        {
            var hive = await HiveInstance.StartAsync(agents ?? ["alice", "bob"],
            [
                "--Hive:Forge:Url", forge.Url.ToString(), "--Hive:Forge:AdminUser", FakeForgejo.AdminUser,
                "--Hive:Forge:AdminPassword", forge.AdminPassword, "--Hive:Forge:TimeoutSeconds", "10",
                "--Hive:Containers:Driver", "process", "--Hive:Containers:StopGraceSeconds", "2",
                "--Logging:LogLevel:Default", "Trace", // every line a host could log, not only warnings, is searched for secrets
                .. args,
            ], services =>
            {
                services.AddSingleton(events);
                services.AddTransient(typeof(INotificationHandler<>), typeof(EventLog.Recorder<>));
            });
            return new ForgeHive(forge, hive, events);
        }
        catch
        {
            await forge.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits for the start-up sweep (the first whole one) to finish.</summary>
    public Task StartUpSweepAsync() => HiveInstance.Until(() => Hive.Service<ForgeSweeper>().CompletedSweeps >= 1, TimeSpan.FromSeconds(30), "the start-up sweep");

    /// <summary><c>POST /api/forge/sweep</c>, as the operator asks for one; the status it answers.</summary>
    public async Task<JsonElement> SweepAsync()
    {
        using var response = await Http.PostAsync("/api/forge/sweep", null);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The agent's row's <c>forge</c> field in <c>/api/state</c>.</summary>
    public async Task<JsonElement> AccountAsync(string agent)
    {
        var state = await GetJsonAsync("/api/state");
        return state.GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == agent).GetProperty("forge").Clone();
    }

    /// <summary>Waits until the agent's row's <c>forge</c> satisfies <paramref name="match"/>; returns it.</summary>
    public async Task<JsonElement> AccountUntilAsync(string agent, Func<JsonElement, bool> match, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var account = await AccountAsync(agent);
            if (account.ValueKind == JsonValueKind.Object && match(account)) return account;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}: {account}");
            await Task.Delay(20);
        }
    }

    /// <summary>A meta commit, as the operator makes one (pins an input, a directory of its own); returns the new <c>main</c>.</summary>
    public async Task<string> CommitToMetaAsync(string input)
    {
        var source = Directory.CreateTempSubdirectory("hive-input-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(source, "tool.txt"), input);
            using (var response = await Http.PutAsJsonAsync($"/api/meta/inputs/{input}", new { source }))
                Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            return (await GetJsonAsync("/api/meta")).GetProperty("log")[0].GetProperty("id").GetString()!;
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    /// <summary>Waits until the forge's <c>core/meta</c> has <paramref name="commit"/> on <c>main</c>.</summary>
    public Task PushedAsync(string commit) => HiveInstance.Until(
        () => Forge.Log("core", "meta").FirstOrDefault()?.StartsWith(commit, StringComparison.Ordinal) == true,
        TimeSpan.FromSeconds(30), $"{commit} in the forge's core/meta");

    /// <summary>Creates an agent as the operator does; the status code (a spawn must never fail because of the forge).</summary>
    public async Task<System.Net.HttpStatusCode> SpawnAsync(object body)
    {
        using var response = await Http.PostAsJsonAsync("/api/agents", body);
        return response.StatusCode;
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Every secret the forge issued (tokens) or was given (the admin password) is in no log line, event or problem body.</summary>
    public void AssertNoSecretLeaked()
    {
        var secrets = Forge.IssuedTokens.Concat(Forge.Secrets).Append(Forge.AdminPassword).Distinct().ToList();
        Assert.NotEmpty(secrets);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(Hive.Logs.Lines, l => l.Text.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(Events.All, e => e.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(ProblemBodies, b => b.Contains(secret, StringComparison.Ordinal));
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            AssertNoSecretLeaked();
        }
        finally
        {
            Http.Dispose();
            await Hive.DisposeAsync();
            await Forge.DisposeAsync();
        }
    }

    /// <summary>Every dashboard event the hive published, as its JSON payload, with its type first.</summary>
    internal sealed class EventLog
    {
        private readonly ConcurrentQueue<string> _events = new();

        public IReadOnlyList<string> All => _events.ToArray();

        public sealed class Recorder<T>(EventLog log) : INotificationHandler<T> where T : INotification, IDashboardEvent
        {
            public Task Handle(T notification, CancellationToken cancellationToken)
            {
                log._events.Enqueue(notification.EventType + " " + JsonSerializer.Serialize(notification.Payload, notification.Payload.GetType(), HiveJson.Options));
                return Task.CompletedTask;
            }
        }
    }
}

/// <summary>Watches every process's argv and environment in <c>/proc</c> while it runs, for secrets.</summary>
internal sealed class ProcWatch : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Func<IReadOnlyList<string>> _secrets;
    private readonly ConcurrentQueue<string> _leaks = new();
    private readonly ConcurrentDictionary<string, bool> _seen = new();

    public ProcWatch(Func<IReadOnlyList<string>> secrets)
    {
        _secrets = secrets;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Command lines seen (NUL as space), to prove the watch saw what it was watching for.</summary>
    public IReadOnlyCollection<string> Seen => _seen.Keys.ToList();

    public IReadOnlyCollection<string> Leaks => _leaks.ToArray();

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var secrets = _secrets();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
                foreach (var part in new[] { "cmdline", "environ" })
                {
                    string text;
                    try
                    {
                        text = Encoding.UTF8.GetString(await File.ReadAllBytesAsync(Path.Combine(dir, part))).Replace('\0', ' ');
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        continue; // gone, or not ours
                    }
                    if (part == "cmdline" && text.Length > 0) _seen.TryAdd(text, true);
                    foreach (var secret in secrets.Where(s => text.Contains(s, StringComparison.Ordinal)))
                        _leaks.Enqueue($"{dir}/{part}: {text}");
                }
            }
            try
            {
                await Task.Delay(5, _stop.Token); // a pass every few ms: a 300 ms push is seen many times, and a core is left for it
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }
}
