using System.Text;

namespace Hive.Tests.Shared;

/// <summary>Duplicate keys, malformed route ids and wrong methods each get a clear, coded refusal.</summary>
public sealed class StrictInputTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"]);
    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private long MessageCount() => _hive.QueryDb<long>("SELECT count(*) FROM messages");

    public static TheoryData<string> DuplicateKeyLines => new()
    {
        """{"op":"send","to":"bob","to":"operator","body":"hi"}""",
        """{"op":"send","op":"send","to":"bob","body":"hi"}""",
        """{"op":"send","to":"bob","body":"hi","extra":{"a":1,"a":2}}""",
        """{"op":"send","to":"bob","body":"hi","extra":[{"deep":{"x":1,"x":1}}]}""",
        """{"op":"send","to":"bob","body":"hi","t\u006f":"operator"}""",
    };

    [Theory]
    [MemberData(nameof(DuplicateKeyLines))]
    public async Task A_socket_line_with_a_duplicate_key_at_any_depth_is_bad_request_and_sends_nothing(string line)
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var before = MessageCount();
        var reply = await alice.CallRawAsync(line);
        Assert.False(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        Assert.Equal("bad_request", reply.GetProperty("code").GetString());
        Assert.Contains("duplicate key '", reply.GetProperty("error").GetString()); // says what to fix
        Assert.Equal(before, MessageCount());
        // The connection stays usable.
        Assert.True((await alice.CallAsync(new { op = "whoami" })).GetProperty("ok").GetBoolean());
    }

    public static TheoryData<string> DuplicateKeyBodies => new()
    {
        """{"to":"bob","to":"alice","body":"hi"}""",
        """{"to":"bob","body":"hi","extra":{"a":1,"a":2}}""",
        """{"to":"bob","body":"hi","extra":[[{"x":{"y":1,"y":2}}]]}""",
    };

    [Theory]
    [MemberData(nameof(DuplicateKeyBodies))]
    public async Task An_http_body_with_a_duplicate_key_at_any_depth_is_400_bad_request(string body)
    {
        var before = MessageCount();
        using var response = await _hive.Http.PostAsync("/api/messages", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await AssertProblem(response, HttpStatusCode.BadRequest, "bad_request");
        Assert.Contains("duplicate key '", problem.GetProperty("detail").GetString());
        Assert.Equal(before, MessageCount());
    }

    [Fact]
    public async Task A_malformed_line_names_the_byte_where_it_broke_and_quotes_nothing_back()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var reply = await alice.CallRawAsync("""{"op":"send","to":"bob","body":tru}""");
        Assert.Equal("bad_request", reply.GetProperty("code").GetString());
        var error = reply.GetProperty("error").GetString()!;
        Assert.Contains("at byte ", error);
        Assert.DoesNotContain("tru", error);
    }

    [Fact]
    public async Task The_same_bodies_without_duplicates_still_work()
    {
        using var response = await _hive.Http.PostAsync("/api/messages",
            new StringContent("""{"to":"bob","body":"hi","extra":{"a":1,"b":[{"a":1},{"a":2}]}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    public static TheoryData<string, string> MalformedIds => new()
    {
        { "DELETE", "/api/reminders/abc" },
        { "DELETE", "/api/reminders/9223372036854775808" },
        { "DELETE", "/api/reminders/1e3" },
        { "DELETE", "/api/reminders/-1" },
        { "DELETE", "/api/reminders/+1" },
        { "DELETE", "/api/reminders/%201" },
        { "POST", "/api/reminders/abc/retry" },
        { "POST", "/api/reminders/1.5/retry" },
        { "POST", "/api/questions/abc/answer" },
        { "POST", "/api/questions/9223372036854775808/answer" },
        { "POST", "/api/questions/1e3/answer" },
    };

    [Theory]
    [MemberData(nameof(MalformedIds))]
    public async Task A_malformed_route_id_is_400_bad_request_and_401_without_credentials_first(string method, string path)
    {
        HttpRequestMessage Request() => new(new HttpMethod(method), path)
        {
            Content = method == "POST" ? JsonContent.Create(new { answer = "x" }) : null,
        };
        using (var response = await _hive.Http.SendAsync(Request()))
            await AssertProblem(response, HttpStatusCode.BadRequest, "bad_request");
        using var anonymous = _hive.CreateClient(signedIn: false);
        using (var response = await anonymous.SendAsync(Request()))
            await AssertProblem(response, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task A_well_formed_unknown_id_is_still_404()
    {
        using var response = await _hive.Http.DeleteAsync("/api/reminders/9223372036854775807");
        await AssertProblem(response, HttpStatusCode.NotFound, "not_found");
    }

    [Theory]
    [InlineData("PUT", "/api/reminders/1")]
    [InlineData("DELETE", "/api/state")]
    [InlineData("GET", "/api/questions/1/answer")]
    public async Task A_wrong_method_is_405_with_its_own_code(string method, string path)
    {
        using var response = await _hive.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        await AssertProblem(response, HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }

    private static async Task<JsonElement> AssertProblem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(code, problem.GetProperty("code").GetString());
        return problem;
    }
}
