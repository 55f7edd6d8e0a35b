using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hive.Tests.Infrastructure;

namespace Hive.Tests.Features.Messages;

/// <summary>Every bad request gets a clear error with a code, and changes nothing.</summary>
public sealed class BrokerBadInputTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"]);
    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private long MessageCount() => _hive.QueryDb<long>("SELECT count(*) FROM messages");

    public static TheoryData<string, string> BadSocketLines => new()
    {
        { """{"op":"send","to":"bob","body":"BODY_TOO_LARGE"}""", "too_large" },
        { """{"op":"send","to":"nobody","body":"hi"}""", "not_found" },
        { """{"op":"send","to":"Bob","body":"hi"}""", "not_found" },
        { """{"op":"send","to":"../bob","body":"hi"}""", "not_found" },
        { """{"op":"send","to":"bob","body":""}""", "validation" },
        { """{"op":"send","to":"bob","body":"   "}""", "validation" },
        { """{"op":"send","to":"bob"}""", "validation" },
        { """{"op":"send","body":"hi"}""", "validation" },
        { """{"op":"send","to":"bob","body":42}""", "bad_request" },
        { """{"op":"send","to":["bob"],"body":"hi"}""", "bad_request" },
        { "{\"op\":\"send\",\"to\":\"bob\",\"body\":\"hi\"", "bad_request" },
        { """{"op":"send","to":"bob","body":"hi"} {"op":"send"}""", "bad_request" },
        { "not json at all", "bad_request" },
        { "", "bad_request" },
        { "[1,2,3]", "bad_request" },
        { "\"send\"", "bad_request" },
        { """{"to":"bob","body":"hi"}""", "bad_request" },
        { """{"op":42}""", "bad_request" },
        { """{"op":"launch-missiles"}""", "bad_request" },
        { """{"op":"recv","wait_ms":"soon"}""", "bad_request" },
        { """{"op":"recv","wait_ms":-1}""", "validation" },
        { """{"op":"recv","wait_ms":30001}""", "validation" },
    };

    [Theory]
    [MemberData(nameof(BadSocketLines))]
    public async Task Bad_socket_request_gets_an_error_and_changes_nothing(string line, string code)
    {
        line = line.Replace("BODY_TOO_LARGE", new string('é', 513)); // 1026 UTF-8 bytes, 513 chars
        var before = MessageCount();
        await using var alice = await _hive.ConnectAsync("alice");

        var reply = await alice.CallRawAsync(line);

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(reply.GetProperty("error").GetString()));
        Assert.Equal(before, MessageCount());
        // The connection stays usable after the error.
        Assert.Equal("alice", (await alice.CallAsync(new { op = "whoami" })).GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_body_of_exactly_1024_bytes_is_accepted()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var id = await alice.SendAsync("bob", new string('x', 1022) + "é");
        Assert.Equal(1024, _hive.QueryDb<long>("SELECT length(CAST(body AS BLOB)) FROM messages WHERE id = @id", new { id }));
    }

    [Fact]
    public async Task Over_long_line_gets_one_error_and_the_connection_stays_usable()
    {
        var before = MessageCount();
        await using var alice = await _hive.ConnectAsync("alice");
        var huge = """{"op":"send","to":"bob","body":""" + "\"" + new string('a', 200_000) + "\"}\n";
        await alice.WriteRawAsync(Encoding.UTF8.GetBytes(huge + """{"op":"whoami"}""" + "\n"));

        var error = await alice.ReadReplyAsync();
        Assert.False(error.GetProperty("ok").GetBoolean());
        Assert.Equal("too_large", error.GetProperty("code").GetString());
        var next = await alice.ReadReplyAsync();
        Assert.Equal("alice", next.GetProperty("name").GetString());
        Assert.Equal(before, MessageCount());
    }

    [Fact]
    public async Task Pipelined_requests_get_replies_in_order()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var lines = string.Concat(Enumerable.Range(0, 20).Select(i => $$"""{"op":"send","to":"bob","body":"p{{i}}"}""" + "\n"));
        await alice.WriteRawAsync(Encoding.UTF8.GetBytes(lines));
        var ids = new List<long>();
        for (var i = 0; i < 20; i++) ids.Add((await alice.ReadReplyAsync()).GetProperty("id").GetInt64());
        Assert.Equal(ids.Order(), ids);
        await using var bob = await _hive.ConnectAsync("bob");
        for (var i = 0; i < 20; i++) Assert.Equal($"p{i}", (await bob.RecvAsync())!.Value.GetProperty("body").GetString());
    }

    public static TheoryData<string?, string, HttpStatusCode> BadHttpBodies => new()
    {
        { """{"to":"bob","body":"BODY_TOO_LARGE"}""", "application/json", HttpStatusCode.RequestEntityTooLarge },
        { """{"to":"nobody","body":"hi"}""", "application/json", HttpStatusCode.NotFound },
        { """{"to":"operator","body":"hi"}""", "application/json", HttpStatusCode.BadRequest },
        { """{"to":"bob","body":""}""", "application/json", HttpStatusCode.BadRequest },
        { """{"to":"bob"}""", "application/json", HttpStatusCode.BadRequest },
        { "{\"to\":\"bob\",\"body\":\"hi", "application/json", HttpStatusCode.BadRequest },
        { """{"to":"bob","body":7}""", "application/json", HttpStatusCode.BadRequest },
        { "null", "application/json", HttpStatusCode.BadRequest },
        { "", "application/json", HttpStatusCode.BadRequest },
        { """{"to":"bob","body":"hi"}""", "text/plain", HttpStatusCode.BadRequest },
        { "HUGE", "application/json", HttpStatusCode.RequestEntityTooLarge },
    };

    [Theory]
    [MemberData(nameof(BadHttpBodies))]
    public async Task Bad_operator_send_gets_problem_json_and_changes_nothing(string? body, string contentType, HttpStatusCode status)
    {
        body = body!.Replace("BODY_TOO_LARGE", new string('x', 1025));
        if (body == "HUGE") body = """{"to":"bob","body":""" + "\"" + new string('x', 2_000_000) + "\"}";
        var before = MessageCount();
        using var content = new StringContent(body, Encoding.UTF8, contentType);

        using var response = await _hive.Http.PostAsync("/api/messages", content);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        Assert.Equal(before, MessageCount());
    }

    [Fact]
    public async Task Validation_problem_names_the_field()
    {
        using var response = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "bob", body = "" });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("validation", problem.GetProperty("code").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("body", out _));
    }
}
