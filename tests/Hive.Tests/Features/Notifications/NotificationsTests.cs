using System.Security.Cryptography;
using System.Text;
using Hive.Contracts.Messages;
using Hive.Contracts.Notifications;
using Hive.Contracts.Questions;
using Hive.Features.Notifications;

namespace Hive.Tests.Features.Notifications;

/// <summary>
/// Pushes to an ntfy-compatible receiver and a signed webhook, over real HTTP (both are <see cref="PushReceiver"/>:
/// no ntfy server can run here), fed by a durable outbox written with the change that caused them; one-tap links that
/// act once; nothing secret where it must not be.
/// </summary>
public sealed class NotificationsTests : IAsyncLifetime
{
    /// <summary>Where the operator's phone would reach the hive (a proxy in front of it): links are rewritten to the test's host.</summary>
    private const string PublicUrl = "https://hive.example.net";

    private readonly string _dir = Directory.CreateTempSubdirectory("hive-notify-").FullName;
    private PushReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await PushReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await TestDirectories.DeleteAsync(_dir);
    }

    private string[] Ntfy(string delay = "0") =>
    [
        "--Hive:PublicUrl", PublicUrl,
        "--Hive:Notifications:Channels:phone:Type", "ntfy",
        "--Hive:Notifications:Channels:phone:Url", new Uri(_receiver.Url, "/hive-alerts").ToString(),
        "--Hive:Notifications:Channels:phone:TokenFile", SecretFile("ntfy-token", "tk_ntfy_secret_0123456789"),
        "--Hive:Notifications:Kinds:question:DelaySeconds", delay,
        "--Hive:Notifications:BatchSeconds", "0",
    ];

    private string SecretFile(string name, string value)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, value + "\n");
        return path;
    }

    /// <summary>The link as the phone would call it: the public URL's path, on the test's host.</summary>
    private static Uri OnHive(HiveInstance hive, string url) => new(hive.BaseAddress, new Uri(url).PathAndQuery);

    private static async Task<HttpResponseMessage> TapAsync(HiveInstance hive, string url)
    {
        using var phone = new HttpClient(); // no cookie, no token: ntfy's http action
        return await phone.PostAsync(OnHive(hive, url), null);
    }

    [Fact]
    public async Task A_question_with_options_is_one_ntfy_push_whose_action_answers_it_once()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], Ntfy());
        await using var alice = await hive.ConnectAsync("alice");
        var questionId = (await alice.CallAsync(QuestionVerbs.Ask, new AskArgs("deploy to prod?", null, ["yes", "no", "wait"], null, null))).Id;

        var push = await _receiver.NextAcceptedAsync();
        // The push is the receiver's format (ntfy's JSON publish): no record of the hive's names it.
        Assert.Equal("/", push.Path); // ntfy's JSON publish goes to the server's root
        Assert.Equal("Bearer tk_ntfy_secret_0123456789", push.Header("Authorization"));
        var json = push.Json;
        Assert.Equal("hive-alerts", json.GetProperty("topic").GetString());
        Assert.Equal("alice asks", json.GetProperty("title").GetString());
        Assert.Equal("deploy to prod?", json.GetProperty("message").GetString());
        Assert.Equal($"{PublicUrl}/needs-you", json.GetProperty("click").GetString());
        var actions = json.GetProperty("actions").EnumerateArray().ToList();
        Assert.Equal(["yes", "no", "wait"], actions.Select(a => a.GetProperty("label").GetString()));
        Assert.All(actions, a =>
        {
            Assert.Equal("http", a.GetProperty("action").GetString());
            Assert.Equal("POST", a.GetProperty("method").GetString());
            Assert.StartsWith($"{PublicUrl}/act/", a.GetProperty("url").GetString());
        });

        // A GET (a link previewer) only shows what a tap would do.
        using (var phone = new HttpClient())
        {
            var page = await phone.GetStringAsync(OnHive(hive, actions[0].GetProperty("url").GetString()!));
            Assert.Contains("<form method=\"post\">", page);
            Assert.Contains("with &quot;yes&quot;", page);
        }
        Assert.Null(hive.QueryDb<string?>("SELECT answer FROM questions WHERE id = @questionId", new { questionId }));

        // An altered or expired token: 404, nothing changed.
        var url = actions[0].GetProperty("url").GetString()!;
        using (var altered = await TapAsync(hive, url[..^2] + (url[^2] == 'A' ? "BB" : "AA"))) Assert.Equal(HttpStatusCode.NotFound, altered.StatusCode);
        using (var junk = await TapAsync(hive, $"{PublicUrl}/act/not-a-token")) Assert.Equal(HttpStatusCode.NotFound, junk.StatusCode);

        using (var tapped = await TapAsync(hive, url))
        {
            Assert.Equal(HttpStatusCode.OK, tapped.StatusCode);
            // The tap's answer is written as it goes out ({ok, subject, action, done}): no record names it.
            Assert.Equal("answer", (await tapped.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("action").GetString());
        }
        var answer = (await alice.RecvMessageAsync(5000))!;
        Assert.Equal("answer", answer.Kind);
        Assert.Contains("yes", answer.Body);
        Assert.Equal("operator", hive.QueryDb<string>("SELECT answerer FROM questions WHERE id = @questionId", new { questionId }));

        // The same link again, or another of its links: 409, saying what was decided.
        using (var again = await TapAsync(hive, url))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
            Assert.Contains("already", await again.Content.ReadAsStringAsync());
        }
        using (var other = await TapAsync(hive, actions[1].GetProperty("url").GetString()!))
        {
            Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
            Assert.Contains("answered \"yes\" by operator at ", Problem.Of(await other.Content.ReadFromJsonAsync<JsonElement>()).Detail);
        }
        using (var phone = new HttpClient())
        using (var look = await phone.GetAsync(OnHive(hive, actions[2].GetProperty("url").GetString()!)))
        {
            Assert.Equal(HttpStatusCode.Conflict, look.StatusCode);
            Assert.Contains("answered &quot;yes&quot; by operator at ", await look.Content.ReadAsStringAsync());
        }
        Assert.Equal("yes", hive.QueryDb<string>("SELECT answer FROM questions WHERE id = @questionId", new { questionId }));
        var row = hive.QueryDbList<(string Actor, string Action, string Reason)>("SELECT actor, action, reason FROM interventions WHERE action = 'answer'").Single();
        Assert.Equal(("operator", "answer", "via push: yes"), row);
        Assert.Single(_receiver.Requests);

        // Expired: 404, and the question stays open.
        var second = (await alice.CallAsync(QuestionVerbs.Ask, new AskArgs("roll back?", null, ["yes", "no"], null, null))).Id;
        var late = (await _receiver.NextAcceptedAsync()).Json.GetProperty("actions")[0].GetProperty("url").GetString()!;
        hive.ExecuteDb($"UPDATE action_tokens SET expires_at = '2001-01-01T00:00:00.0000000Z' WHERE subject = 'question:{second}'");
        using (var expired = await TapAsync(hive, late)) Assert.Equal(HttpStatusCode.NotFound, expired.StatusCode);
        Assert.Null(hive.QueryDb<string?>("SELECT answer FROM questions WHERE id = @second", new { second }));
    }

    [Fact]
    public async Task A_question_answered_on_the_dashboard_within_the_delay_is_never_pushed()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], Ntfy(delay: "1"));
        await using var alice = await hive.ConnectAsync("alice");
        var first = (await alice.CallAsync(QuestionVerbs.Ask, new AskArgs("first?", null, ["a", "b"], null, null))).Id;
        using (var answered = await hive.Http.PostAsJsonAsync($"/api/questions/{first}/answer", new { answer = "a" }))
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("skipped", hive.QueryDb<string>("SELECT state FROM notification_items WHERE subject = @s", new { s = $"question:{first}" }));

        // A later question's push comes after the first one's delay was over: by then the first would have gone.
        await alice.CallAsync(new { op = "ask", question = "second?", options = new[] { "a", "b" } });
        var push = await _receiver.NextAcceptedAsync();
        Assert.Equal("second?", push.Json.GetProperty("message").GetString());
        Assert.DoesNotContain(_receiver.Requests, r => r.Text.Contains("first?", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_kind_switched_off_and_a_channel_limited_to_other_kinds_push_nothing_of_it()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], [.. Ntfy(), "--Hive:Notifications:Kinds:halted:Enabled", "false",
            "--Hive:Notifications:Channels:ops:Type", "ntfy", "--Hive:Notifications:Channels:ops:Url", new Uri(_receiver.Url, "/ops").ToString(),
            "--Hive:Notifications:Channels:ops:Kinds:0", "approval"]);
        using (var halt = await hive.Http.PostAsync("/api/governance/halt", null)) Assert.Equal(HttpStatusCode.OK, halt.StatusCode);
        Assert.Equal(0, hive.QueryDb<long>("SELECT count(*) FROM notification_items"));
        await using var alice = await hive.ConnectAsync("alice");
        await alice.CallAsync(new { op = "ask", question = "only for the phone?" });
        Assert.Equal(["phone"], hive.QueryDbList<string>("SELECT channel FROM notification_items"));
        Assert.Equal("hive-alerts", (await _receiver.NextAcceptedAsync()).Json.GetProperty("topic").GetString());
    }

    [Fact]
    public async Task A_webhook_that_fails_three_times_gets_the_push_once_with_one_delivery_id_and_a_valid_signature()
    {
        _receiver.FailFirst = 3;
        const string key = "whsec-0123456789abcdef0123456789";
        var metricsPort = HostProcess.FreePort();
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Metrics:Urls", $"http://127.0.0.1:{metricsPort}",
            "--Hive:Notifications:Channels:hook:Type", "webhook",
            "--Hive:Notifications:Channels:hook:Url", new Uri(_receiver.Url, "/hooks/hive").ToString(),
            "--Hive:Notifications:Channels:hook:SecretFile", SecretFile("hook-secret", key),
            "--Hive:Notifications:Kinds:question:DelaySeconds", "0", "--Hive:Notifications:MaxRetrySeconds", "1");
        await using var events = await hive.OpenEventsAsync();
        await using var alice = await hive.ConnectAsync("alice");
        await alice.CallAsync(new { op = "ask", question = "is the build green?" });

        var failing = await events.WaitForPayloadAsync<NotificationChannelChangedPayload>("notification_channel_changed", e => e.Failing);
        Assert.Equal("the channel answered 500", failing.LastError);
        var push = await _receiver.NextAcceptedAsync();
        // The webhook's body is written by the hive's sender, whose record is its own (internal): read raw.
        Assert.Equal(4, _receiver.Requests.Count);
        var delivery = push.Header("X-Hive-Delivery");
        Assert.All(_receiver.Requests, r => Assert.Equal(delivery, r.Header("X-Hive-Delivery")));
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), push.Body));
        Assert.Equal(expected, push.Header("X-Hive-Signature"));
        Assert.Equal(push.Header("X-Hive-Timestamp"), push.Json.GetProperty("timestamp").GetString());
        Assert.Equal(delivery, push.Json.GetProperty("delivery_id").GetString());
        var item = Assert.Single(push.Json.GetProperty("items").EnumerateArray());
        Assert.Equal(("question", "is the build green?"), (item.GetProperty("kind").GetString(), item.GetProperty("body").GetString()));
        Assert.Empty(item.GetProperty("actions").EnumerateArray()); // no Hive:PublicUrl: no links

        await events.WaitForPayloadAsync<NotificationChannelChangedPayload>("notification_channel_changed", e => !e.Failing);
        // Every attempt is counted by channel: three failures, then the delivery.
        using (var scraper = new HttpClient())
        {
            var metrics = "";
            await HiveInstance.Until(() =>
            {
                metrics = scraper.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics").GetAwaiter().GetResult();
                return Host.MetricsTests.Value(metrics, "hive_notifications_delivered_total", "channel=\"hook\"") == 1;
            }, TimeSpan.FromSeconds(10), "the delivery in the metrics");
            Assert.Equal(3, Host.MetricsTests.Value(metrics, "hive_notifications_failed_total", "channel=\"hook\""));
        }
        var channel = (await hive.GetAsync<NotificationsView>("/api/notifications")).Channels.Single();
        Assert.Equal(("hook", "webhook", false), (channel.Name, channel.Type, channel.Failing));
        Assert.NotNull(channel.LastOkAt);

        // The test-send button's route: one more push, now.
        using (var test = await hive.Http.PostAsync("/api/notifications/channels/hook/test", null)) Assert.Equal(HttpStatusCode.Accepted, test.StatusCode);
        var tested = await _receiver.NextAcceptedAsync();
        Assert.Equal("test", tested.Json.GetProperty("items")[0].GetProperty("kind").GetString());
        Assert.NotEqual(delivery, tested.Header("X-Hive-Delivery"));
        using (var unknown = await hive.Http.PostAsync("/api/notifications/channels/nope/test", null)) Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        // Nothing secret in what the operator's tools show, in the events, nor in the log.
        var shown = (await hive.GetJsonAsync("/api/state")).GetRawText() + (await hive.GetJsonAsync("/api/notifications")).GetRawText();
        using (var marker = await hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "marker" })) marker.EnsureSuccessStatusCode();
        while (await events.NextAsync(TimeSpan.FromSeconds(10)) is { } e)
        {
            shown += e.Json.GetRawText();
            if (e.Type == "sent" && e.Payload<MessageView>().Body == "marker") break;
        }
        Assert.DoesNotContain(key, shown);
        Assert.DoesNotContain(_receiver.Url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/hooks", shown);
        Assert.DoesNotContain(hive.Logs.Lines, l => l.Text.Contains(key, StringComparison.Ordinal) || l.Text.Contains("/hooks/hive", StringComparison.Ordinal));
    }

    [Fact]
    public async Task No_channel_token_hmac_key_or_action_token_reaches_logs_events_state_or_problems()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], Ntfy());
        var seen = new List<string>();
        await using var events = await hive.OpenEventsAsync();
        await using var alice = await hive.ConnectAsync("alice");
        await alice.CallAsync(new { op = "ask", question = "ship it?", options = new[] { "ship", "hold" } });
        var push = await _receiver.NextAcceptedAsync();
        var tokens = push.Json.GetProperty("actions").EnumerateArray().Select(a => a.GetProperty("url").GetString()![(PublicUrl.Length + "/act/".Length)..]).ToList();
        using (var tapped = await TapAsync(hive, push.Json.GetProperty("actions")[0].GetProperty("url").GetString()!)) Assert.Equal(HttpStatusCode.OK, tapped.StatusCode);
        using (var again = await TapAsync(hive, push.Json.GetProperty("actions")[0].GetProperty("url").GetString()!)) seen.Add(await again.Content.ReadAsStringAsync());
        // Every event up to a marker sent after all of it.
        using (var marker = await hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "marker" })) marker.EnsureSuccessStatusCode();
        while (await events.NextAsync(TimeSpan.FromSeconds(10)) is { } e)
        {
            seen.Add(e.Json.GetRawText());
            if (e.Type == "sent" && e.Payload<MessageView>().Body == "marker") break;
        }

        seen.Add((await hive.GetJsonAsync("/api/state")).GetRawText());
        seen.Add((await hive.GetJsonAsync("/api/notifications")).GetRawText());
        seen.Add((await hive.GetJsonAsync("/api/interventions")).GetRawText());
        seen.AddRange(hive.Logs.Lines.Select(l => l.Text));
        foreach (var secret in tokens.Append("tk_ntfy_secret_0123456789").Append("hive-alerts"))
            Assert.DoesNotContain(seen, s => s.Contains(secret, StringComparison.Ordinal));
        // Only hashes of the tokens are stored.
        Assert.Equal(0, hive.QueryDb<long>("SELECT count(*) FROM action_tokens WHERE token_hash IN @tokens", new { tokens }));
    }

    [Fact]
    public async Task A_push_committed_before_a_SIGKILL_is_delivered_after_the_restart_once()
    {
        var port = HostProcess.FreePort();
        var dataDir = Path.Combine(_dir, "data");
        string[] args =
        [
            "--Hive:Notifications:Channels:phone:Type", "ntfy",
            "--Hive:Notifications:Channels:phone:Url", $"http://127.0.0.1:{port}/hive-alerts",
            "--Hive:Notifications:Kinds:question:DelaySeconds", "0", "--Hive:Notifications:MaxRetrySeconds", "1",
        ];
        string delivery;
        await using (var host = await HostProcess.StartAsync(dataDir, ["alice"], extraArgs: args))
        {
            await using var alice = await host.ConnectAsync("alice");
            await alice.CallAsync(new { op = "ask", question = "still there?" });
            // Committed, and its POST has nowhere to go yet: the host dies with the push undelivered.
            await HiveInstance.Until(() => HiveInstance.QueryDb<long>(dataDir, "SELECT count(*) FROM notification_deliveries WHERE attempts > 0") == 1,
                TimeSpan.FromSeconds(30), "a first failed attempt");
            delivery = HiveInstance.QueryDb<string>(dataDir, "SELECT id FROM notification_deliveries");
            await host.KillAsync();
        }

        await using var receiver = await PushReceiver.StartAsync(port);
        await using var restarted = await HostProcess.StartAsync(dataDir, ["alice"], extraArgs: args);
        var push = await receiver.NextAcceptedAsync();
        Assert.Equal(delivery, push.Header("X-Hive-Delivery"));
        Assert.Equal("still there?", push.Json.GetProperty("message").GetString());
        await HiveInstance.Until(() => HiveInstance.QueryDb<string>(dataDir, "SELECT state FROM notification_deliveries") == "sent",
            TimeSpan.FromSeconds(30), "the delivery marked sent");
        Assert.Single(receiver.Requests);
    }
}
