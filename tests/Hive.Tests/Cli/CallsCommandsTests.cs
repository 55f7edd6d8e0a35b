using System.Net;
using Hive.Tests.Features.Gateway;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Cli;

/// <summary>
/// <c>hivectl calls</c> and <c>hivectl call</c>: an agent's model calls as the operator reads them over HTTP, and as the
/// agent itself over its socket (its own only), printed safely for a terminal or as the host's JSON.
/// </summary>
public sealed class CallsCommandsTests : IAsyncLifetime
{
    private readonly string _key = GatewayKit.NewKey();
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;
    private long _id;

    public async Task InitializeAsync()
    {
        _model = await FakeMessagesApi.StartAsync(_key);
        _hive = await HiveInstance.StartAsync(["alice", "bob"], GatewayKit.Provider(_model.BaseUrl));
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        // An answer with a tool call, and text that would drive a terminal if it were printed as it is.
        _model.Enqueue(ModelReply.ToolUse("mcp__hive__send", """{"to":"bob","body":"hi"}""", textBefore: "Greeting bob \u001b[31mnow\u001b[0m.",
            usage: new FakeMessagesApi.Usage(1000, 500)));
        using var door = GatewayKit.Door(_hive, "alice");
        using var response = await door.PostAsync("/v1/messages", GatewayKit.MessagesBody(text: "please greet bob"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        _id = Assert.Single(await GatewayKit.SettledCallsAsync(_hive, 1)).Id;
    }

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await _model.DisposeAsync();
    }

    private Task<HivectlResult> OperatorAsync(params string[] args) =>
        Hivectl.RunAsync(["--url", _hive.BaseAddress.ToString(), "--token", _hive.Token!, .. args]);

    private Task<HivectlResult> AgentAsync(string agent, params string[] args) => Hivectl.RunAsync([.. args, "--socket", _hive.SocketPath(agent)]);

    [Fact]
    public async Task The_operator_lists_an_agents_calls_and_reads_one_as_a_person_reads_it()
    {
        var list = (await OperatorAsync("calls", "--agent", "alice")).Ok().Stdout;
        var lines = list.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ID", lines[0]);
        Assert.Contains("FIRST BYTE", lines[0]);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"{_id} ", lines[1]);
        Assert.Contains("claude-test", lines[1]);
        Assert.Contains("1000/500", lines[1]);
        Assert.Contains("$2.0000", lines[1]);
        Assert.Contains("complete 200", lines[1]);

        var json = (await OperatorAsync("calls", "--agent", "alice", "--json")).Ok().Json;
        Assert.Equal(_id, Assert.Single(json.EnumerateArray()).GetProperty("id").GetInt64());
        Assert.Empty((await OperatorAsync("calls", "--agent", "bob", "--json")).Ok().Json.EnumerateArray());
        Assert.Empty((await OperatorAsync("calls", "--agent", "alice", "--turn", "99", "--json")).Ok().Json.EnumerateArray());

        var call = (await OperatorAsync("call", _id.ToString(System.Globalization.CultureInfo.InvariantCulture))).Ok().Stdout;
        Assert.Contains($"call #{_id} of alice: claude-test via anthropic, complete 200", call);
        Assert.Contains("conversation: 1 message(s):", call);
        Assert.Contains("  [user]\n    text:\n      please greet bob\n", call);
        Assert.Contains("    tool call mcp__hive__send:\n      {\"to\":\"bob\",\"body\":\"hi\"}\n", call);
        Assert.Contains("answer (tool_use):", call);
        Assert.DoesNotContain('\u001b', call); // the model's escape codes are shown, not obeyed
        Assert.Contains("Greeting bob ", call);
        Assert.Contains("[31mnow", call);

        var raw = (await OperatorAsync("call", _id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json")).Ok().Json;
        Assert.Contains("please greet bob", raw.GetProperty("request").GetString());
        Assert.Equal(_id, raw.GetProperty("call").GetProperty("id").GetInt64());

        (await OperatorAsync("calls")).Usage();
        (await OperatorAsync("calls", "--agent", "nobody")).Refused("not_found");
        (await OperatorAsync("call", "999999")).Refused("not_found");
    }

    [Fact]
    public async Task An_agent_lists_and_reads_its_own_calls_over_its_socket_and_not_anothers()
    {
        var own = (await AgentAsync("alice", "calls", "--json")).Ok().Json;
        Assert.Equal(_id, Assert.Single(own.EnumerateArray()).GetProperty("id").GetInt64());
        Assert.Contains("please greet bob", (await AgentAsync("alice", "call", _id.ToString(System.Globalization.CultureInfo.InvariantCulture))).Ok().Stdout);

        Assert.Empty((await AgentAsync("bob", "calls", "--json")).Ok().Json.EnumerateArray());
        (await AgentAsync("bob", "call", _id.ToString(System.Globalization.CultureInfo.InvariantCulture))).Refused("not_found");
        (await AgentAsync("bob", "calls", "--agent", "alice")).Usage();
    }
}
