using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using Hive.Shared.Gateway;
using Microsoft.Extensions.Options;
using static Hive.Tests.Features.Gateway.GatewayKit;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// A provider whose model server the host runs itself (<c>Serve</c>): the tests' own server (<see cref="ServedModelServer"/>)
/// is started with the host and counted up once its health URL answers; its two slots are the provider's: six agents at
/// once never put a third request on it; killed, it is started again (a new pid) while the agents' calls fail meanwhile;
/// a command that exits at once is left down, said with its exit code and its output's tail; bad <c>Serve</c>
/// configuration refuses the start.
/// </summary>
public sealed class ServedProviderTests : IAsyncLifetime
{
    private static readonly string[] Agents = ["a1", "a2", "a3", "a4", "a5", "a6"];
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "hive-served-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly HttpClient _server = new();
    private readonly List<HiveInstance> _hives = [];
    private int _port;

    public Task InitializeAsync()
    {
        _port = HostProcess.FreePort();
        _server.BaseAddress = new Uri($"http://127.0.0.1:{_port}");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var hive in _hives) await hive.DisposeAsync();
        _server.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private async Task<HiveInstance> HiveAsync(params string[] serve)
    {
        var hive = await HiveInstance.StartAsync([], [
            "--Hive:Gateway:Providers:local:Protocol", "anthropic",
            "--Hive:Gateway:Providers:local:Upstream", $"http://127.0.0.1:{_port}",
            .. serve]);
        _hives.Add(hive);
        foreach (var name in Agents)
            using (var created = await hive.Http.PostAsJsonAsync("/api/agents", new
            { name, driver = "process", provider = "local", command = new[] { "/bin/sh", "-c", "exec sleep 1000000" } }))
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return hive;
    }

    private string[] Served() =>
    [
        "--Hive:Gateway:Providers:local:Serve:Command:0", "python3",
        "--Hive:Gateway:Providers:local:Serve:Command:1", ServedModelServer.WriteTo(_dir),
        "--Hive:Gateway:Providers:local:Serve:Command:2", _port.ToString(),
        "--Hive:Gateway:Providers:local:Serve:Command:3", _dir,
        "--Hive:Gateway:Providers:local:Serve:Health", $"http://127.0.0.1:{_port}/health",
        "--Hive:Gateway:Providers:local:Serve:Slots", "2",
        "--Hive:Gateway:Providers:local:Serve:Context", "4096",
    ];

    private static HttpClient DoorOf(HiveInstance hive, string agent)
    {
        var access = hive.Service<IAgentGateways>().For(agent, "local")!;
        var client = DoorClient(access.Socket);
        client.DefaultRequestHeaders.Add("x-api-key", access.PlaceholderKey);
        client.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        return client;
    }

    private static async Task<ServedView> ServedAsync(HiveInstance hive) =>
        (await hive.GetJsonAsync("/api/providers/local/served")).Deserialize<ServedView>(HiveJson.Options)!;

    private static async Task<ServedView> UntilAsync(HiveInstance hive, Func<ServedView, bool> condition, string what)
    {
        ServedView view = null!;
        await HiveInstance.Until(() => condition(view = ServedAsync(hive).GetAwaiter().GetResult()), Patience, what);
        return view;
    }

    private async Task<JsonElement> StatsAsync() => await _server.GetFromJsonAsync<JsonElement>("/stats");

    [Fact]
    public async Task Six_agents_at_once_never_put_a_third_request_on_a_served_provider_of_two_slots()
    {
        var hive = await HiveAsync(Served());
        var up = await UntilAsync(hive, v => v.State == "up" && v.Tail.Contains("listening on"), "the server to be up, its output kept");
        Assert.Equal((2, 4096, 0), (up.Slots!.Value, up.Context!.Value, up.Restarts));

        var calls = Agents.Select(async (agent, i) =>
        {
            using var door = DoorOf(hive, agent);
            using var response = await door.PostAsync("/v1/messages", MessagesBody(stream: i % 2 == 0));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }).ToList();

        // Every call is either on the server (held there) or waiting at the gateway for one of its slots.
        int current = 0, waiting = 0;
        await HiveInstance.Until(() =>
        {
            current = StatsAsync().GetAwaiter().GetResult().GetProperty("current").GetInt32();
            var providers = hive.GetJsonAsync("/api/state").GetAwaiter().GetResult().GetProperty("gateway").GetProperty("providers");
            waiting = providers.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "local").GetProperty("waiting").GetInt32();
            return current + waiting == 6;
        }, Patience, "all six calls to be on the server or waiting for a slot");
        Assert.Equal((2, 4), (current, waiting));

        using (var released = await _server.PostAsync("/release", new StringContent("{}"))) released.EnsureSuccessStatusCode();
        var answers = await Task.WhenAll(calls);
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        var stats = await StatsAsync();
        Assert.Equal((2, 6), (stats.GetProperty("max").GetInt32(), stats.GetProperty("requests").GetInt32()));
    }

    [Fact]
    public async Task A_served_provider_killed_is_started_again_and_the_agents_failing_streak_shows_meanwhile()
    {
        var hive = await HiveAsync(Served());
        var first = await UntilAsync(hive, v => v.State == "up", "the server to be up");
        File.WriteAllText(Path.Combine(_dir, "hold"), ""); // the next run waits before it listens

        using (var old = Process.GetProcessById(first.Pid!.Value)) old.Kill();
        var again = await UntilAsync(hive, v => v.Restarts == 1 && v.Pid is { } pid && pid != first.Pid, "the server to be started again");
        Assert.Equal("starting", again.State);
        Assert.Equal(137, again.LastExit); // SIGKILL

        using var door = DoorOf(hive, "a1");
        using (var failed = await door.PostAsync("/v1/messages", MessagesBody(stream: false)))
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        // The streak is counted just after the client has its 502: waited for, not read once.
        FailingStreakView? streak = null;
        await HiveInstance.Until(() =>
        {
            var failing = RowOf(hive.GetJsonAsync("/api/state").GetAwaiter().GetResult(), "a1").GetProperty("model_calls_failing");
            streak = failing.ValueKind == JsonValueKind.Object ? failing.Deserialize<FailingStreakView>(HiveJson.Options) : null;
            return streak is not null;
        }, TimeSpan.FromSeconds(30), "a1's failing streak");
        Assert.Equal(("local", 1), (streak!.Provider, streak.Count));
        Assert.Contains("connection refused", streak.LastError);

        File.Delete(Path.Combine(_dir, "hold"));
        var back = await UntilAsync(hive, v => v.State == "up", "the new server to be up");
        Assert.Equal(again.Pid, back.Pid);
        using (var released = await _server.PostAsync("/release", new StringContent("{}"))) released.EnsureSuccessStatusCode();
        using (var ok = await door.PostAsync("/v1/messages", MessagesBody(stream: false)))
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await HiveInstance.Until(() => RowOf(hive.GetJsonAsync("/api/state").GetAwaiter().GetResult(), "a1").GetProperty("model_calls_failing").ValueKind == JsonValueKind.Null,
            Patience, "a1's streak to end");

        // Stopped with the host: nothing of it is left running.
        await hive.DisposeAsync();
        _hives.Remove(hive);
        await HiveInstance.Until(() => !Alive(back.Pid!.Value), Patience, "the server to be gone with the host");
    }

    [Fact]
    public async Task A_server_left_running_by_a_killed_host_is_killed_by_the_next_host_before_it_starts_its_own()
    {
        string[] args = ["--Hive:Gateway:Providers:local:Protocol", "anthropic", "--Hive:Gateway:Providers:local:Upstream", $"http://127.0.0.1:{_port}", .. Served()];
        var data = Path.Combine(_dir, "data");
        int? leftover = null, own = null;
        try
        {
            await using (var first = await HostProcess.StartAsync(data, [], extraArgs: args))
            {
                using var api = first.CreateClient();
                var up = await HostServedAsync(api, v => v.State == "up", "the first host's server to be up");
                leftover = up.Pid;
                await first.KillAsync(); // SIGKILL: it never stops its server
            }
            Assert.True(Running(leftover!.Value), "a SIGKILLed host cannot stop its server: the next host has to");

            await using var second = await HostProcess.StartAsync(data, [], extraArgs: args);
            using var again = second.CreateClient();
            // Up again on the same port: the old server, which held it, was killed first (a new one could not have listened).
            var back = await HostServedAsync(again, v => v.State == "up", "the second host's server to be up");
            Assert.NotEqual(leftover, back.Pid);
            Assert.Equal(0, back.Restarts);
            own = back.Pid;
            Assert.False(Running(leftover.Value));
            await second.OutputContainsAsync("from the last host life");

            await second.TerminateAsync(Patience); // a host stopped as a service manager stops it stops its server
            Assert.False(Running(back.Pid!.Value));
        }
        finally
        {
            // A test that fails half-way leaves no server behind (HostProcess's own disposal is a SIGKILL).
            foreach (var pid in new[] { leftover, own }.OfType<int>().Where(Running))
                Hive.Shared.Processes.ProcessGroups.SignalGroup(pid, Hive.Shared.Processes.ProcessGroups.SigKill);
        }
    }

    /// <summary>Running: a live process, not a zombie (a server whose killed host's reaper is not in this test's reach stays one).</summary>
    private static bool Running(int pid) => Hive.Shared.Processes.ProcessGroups.StartTicks(pid) is not null;

    private static async Task<ServedView> HostServedAsync(HttpClient api, Func<ServedView, bool> condition, string what)
    {
        ServedView view = null!;
        await HiveInstance.UntilAsync(async () => condition(view = (await api.GetFromJsonAsync<ServedView>("/api/providers/local/served", HiveJson.Options))!),
            Patience, what);
        return view;
    }

    [Fact]
    public async Task A_serve_command_that_exits_at_once_is_left_down_with_its_exit_code_and_output_not_looped_on()
    {
        var hive = await HiveAsync(
            "--Hive:Gateway:Providers:local:Serve:Command:0", "sh",
            "--Hive:Gateway:Providers:local:Serve:Command:1", "-c",
            "--Hive:Gateway:Providers:local:Serve:Command:2", "echo 'no model at /models/none.gguf' >&2; exit 3",
            "--Hive:Gateway:Providers:local:Serve:Health", $"http://127.0.0.1:{_port}/health",
            "--Hive:Gateway:Providers:local:Serve:MaxFailedStarts", "2");
        var failed = await UntilAsync(hive, v => v.State == "failed" && v.Tail.Contains("no model"), "the server to be given up on");
        Assert.Equal((3, 1, (int?)null), (failed.LastExit!.Value, failed.Restarts, failed.Pid));
        Assert.Contains("no model at /models/none.gguf", failed.Tail);
        var listed = (await hive.GetJsonAsync("/api/providers/served")).Deserialize<List<ServedView>>(HiveJson.Options)!;
        Assert.Equal("failed", Assert.Single(listed).State);
        var providers = (await hive.GetJsonAsync("/api/state")).GetProperty("gateway").GetProperty("providers");
        Assert.Equal("failed", providers.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "local").GetProperty("served").GetProperty("state").GetString());
    }

    [Fact]
    public async Task An_agent_whose_preset_needs_more_context_than_the_served_provider_gives_is_refused_at_create_and_at_start_with_both_numbers()
    {
        var hive = await HiveAsync(Served());
        var presets = Directory.CreateDirectory(Path.Combine(hive.DataDir, "meta", "presets")).FullName;
        static string Preset(long context) => $$"""{"command": ["sleep", "1000"], "provider": "local", "context": {{context}}}""";
        File.WriteAllText(Path.Combine(presets, "wide-context.json"), Preset(200_000));
        File.WriteAllText(Path.Combine(presets, "narrow-context.json"), Preset(2_000));

        using (var refused = await hive.Http.PostAsJsonAsync("/api/agents", new { name = "wide", preset = "wide-context", driver = "process" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("needs 200000 tokens of context; provider local serves 4096", Problem.Of(await refused.Content.ReadFromJsonAsync<JsonElement>()).Detail);
        }
        Assert.Equal(0, hive.QueryDb<long>("SELECT count(*) FROM agents WHERE name = 'wide'"));

        // Made while its preset asked for little; the preset asks for more now: its next start is refused, saying both.
        using (var created = await hive.Http.PostAsJsonAsync("/api/agents", new { name = "narrow", preset = "narrow-context", driver = "process" }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using (var stopped = await hive.Http.PostAsync("/api/agents/narrow/stop", null)) Assert.True(stopped.IsSuccessStatusCode);
        File.WriteAllText(Path.Combine(presets, "narrow-context.json"), Preset(200_000));
        using (var start = await hive.Http.PostAsync("/api/agents/narrow/start", null))
        {
            Assert.Equal(HttpStatusCode.BadRequest, start.StatusCode);
            Assert.Contains("narrow: needs 200000 tokens of context; provider local serves 4096", Problem.Of(await start.Content.ReadFromJsonAsync<JsonElement>()).Detail);
        }
        Assert.Equal("stopped", hive.QueryDb<string>("SELECT state FROM agents WHERE name = 'narrow'"));
    }

    [Theory]
    [InlineData("Serve:Slots", "3", "Serve:Slots: the server's slots are the provider's MaxInFlight")]
    [InlineData("Serve:Health", "/health", "Serve:Health: must be an absolute http or https URL")]
    [InlineData("Serve:Context", "0", "Serve:Context: must be 1 to 100000000 tokens")]
    public async Task Bad_serve_configuration_refuses_the_start_with_the_key_and_the_reason(string key, string value, string expected)
    {
        var args = new Dictionary<string, string>
        {
            ["Serve:Command:0"] = "python3",
            ["Serve:Health"] = $"http://127.0.0.1:{_port}/health",
            ["MaxInFlight"] = "2",
            [key] = value,
        };
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => HiveAsync(
            args.SelectMany(a => new[] { $"--Hive:Gateway:Providers:local:{a.Key}", a.Value }).ToArray()));
        Assert.Contains($"Hive:Gateway:Providers:local:{expected}", error.Message);
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static JsonElement RowOf(JsonElement state, string agent) =>
        state.GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == agent);
}
