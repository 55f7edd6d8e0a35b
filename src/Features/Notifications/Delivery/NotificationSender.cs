using System.Text.Json;
using Dapper;
using Hive.Contracts.Json;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Notifications;

/// <summary>
/// Sends the outbox, at least once. Each round: per channel, the items whose quiet delay is over become one delivery (at
/// most one per channel per <c>BatchSeconds</c>), recorded before anything is sent; then every delivery due is POSTed,
/// marked sent on a 2xx, or tried again after 1, 2, 4 … s (at most <c>MaxRetrySeconds</c>) with the same delivery id. A
/// host killed between the commit and the POST finds its deliveries and items pending at the next start. Woken at once by
/// a new item; else once a second.
/// </summary>
internal sealed class NotificationSender(IServiceScopeFactory scopes, IDb db, StateChanges changes, IOptions<NotificationsOptions> options,
    PublicUrl publicUrl, ActionTokens tokens, ChannelStates states, NotificationOutboxSignal signal, TimeProvider clock, ILogger<NotificationSender> logger)
    : TriggeredBackgroundService(signal, Idle, passAtStart: true, clock, logger)
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(1);
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    protected override Task PassAsync(CancellationToken stoppingToken) => RoundAsync(stoppingToken);

    protected override void PassFailed(Exception e) => Logger.LogWarning(e, "notifications: a round of sending failed; trying again");

    /// <summary>One round: batch what is due into deliveries, then send what is due.</summary>
    internal async Task RoundAsync(CancellationToken ct)
    {
        var now = Clock.GetUtcNow();
        // A full batch may leave more due: with the window open (BatchSeconds 0) the next one is made at once, not a poll later.
        foreach (var channel in options.Value.Channels.Keys)
            while (states.MayPush(channel, now, TimeSpan.FromSeconds(options.Value.BatchSeconds)) && await BatchAsync(channel, now, ct) == MaxItems) { }
        List<DeliveryRow> due;
        using (var connection = db.Open())
            due = connection.Query<DeliveryRow>(
                "SELECT id, channel, created_at, attempts FROM notification_deliveries WHERE state = 'pending' AND next_attempt_at <= @now ORDER BY created_at",
                new { now }).AsList();
        foreach (var delivery in due) await SendAsync(delivery, ct);
    }

    /// <summary>The most items one push carries.</summary>
    private const int MaxItems = 20;

    /// <returns>How many items the new delivery holds (0: none was due).</returns>
    private async Task<int> BatchAsync(string channel, DateTimeOffset now, CancellationToken ct)
    {
        // Looked at first on a connection of its own: an idle round must not take the write lock every second.
        using (var connection = db.Open())
            if (!connection.ExecuteScalar<bool>(
                    "SELECT EXISTS (SELECT 1 FROM notification_items WHERE channel = @channel AND state = 'pending' AND due_at <= @now)", new { channel, now }))
                return 0;
        var made = await changes.RunAsync(scopes, (change, _) =>
        {
            var items = change.Query<long>("""
                SELECT id FROM notification_items WHERE channel = @channel AND state = 'pending' AND due_at <= @now ORDER BY id LIMIT @MaxItems
                """, new { channel, now, MaxItems });
            if (items.Count == 0) return Task.FromResult(0);
            var id = Guid.NewGuid().ToString("N");
            change.Execute("INSERT INTO notification_deliveries (id, channel, created_at, next_attempt_at) VALUES (@id, @channel, @now, @now)",
                new { id, channel, now });
            change.Execute("UPDATE notification_items SET state = 'queued', delivery_id = @id WHERE id IN @items", new { id, items });
            return Task.FromResult(items.Count);
        }, ct);
        if (made > 0) states.Pushed(channel, now);
        return made;
    }

    private async Task SendAsync(DeliveryRow delivery, CancellationToken ct)
    {
        if (!options.Value.Channels.TryGetValue(delivery.Channel, out var channel))
        {
            await FinishAsync(delivery, "failed", $"no channel {delivery.Channel} is configured any more", ct);
            return;
        }
        string? failure = null;
        try
        {
            using var request = ChannelRequests.Build(channel, Compose(delivery));
            using var response = await _http.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode) failure = $"the channel answered {(int)response.StatusCode}";
        }
        catch (PushFailedException e)
        {
            failure = e.Message;
        }
        catch (HttpRequestException e)
        {
            failure = $"could not reach the channel ({e.HttpRequestError})";
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            failure = "the channel did not answer within 10 s";
        }
        if (failure is null) await FinishAsync(delivery, "sent", null, ct);
        else await RetryLaterAsync(delivery, failure, ct);
    }

    private Push Compose(DeliveryRow delivery)
    {
        using var connection = db.Open();
        var items = connection.Query<ItemRow>(
            "SELECT id, kind, subject, title, body, actions FROM notification_items WHERE delivery_id = @Id ORDER BY id", delivery).AsList();
        return new Push(delivery.Id, delivery.CreatedAt, [.. items.Select(item => new PushItem(item.Kind, item.Subject, item.Title, item.Body,
            publicUrl.IsSet
                ? [.. (item.Actions.Value ?? []).Select((a, i) =>
                    new PushLink(a.Label, publicUrl.Of($"/act/{tokens.Of(item.Id, i)}")!))]
                : []))], publicUrl.Of("/needs-you"));
    }

    private async Task FinishAsync(DeliveryRow delivery, string state, string? error, CancellationToken ct)
    {
        var now = Clock.GetUtcNow();
        await changes.RunAsync(scopes, (change, _) =>
        {
            change.Execute("UPDATE notification_deliveries SET state = @state, attempts = attempts + 1, sent_at = @sent, last_error = @error WHERE id = @Id",
                new { delivery.Id, state, sent = state == "sent" ? now : (DateTimeOffset?)null, error });
            change.Execute("UPDATE notification_items SET state = @state WHERE delivery_id = @Id", new { delivery.Id, state });
            states.Record(change, delivery.Channel, error, now);
            return Task.CompletedTask;
        }, ct);
        if (error is not null) Logger.LogWarning("notifications: delivery {Delivery} to {Channel} given up: {Why}", delivery.Id, delivery.Channel, error);
    }

    private async Task RetryLaterAsync(DeliveryRow delivery, string error, CancellationToken ct)
    {
        var now = Clock.GetUtcNow();
        var wait = TimeSpan.FromSeconds(Math.Min(Math.Pow(2, delivery.Attempts), options.Value.MaxRetrySeconds));
        await changes.RunAsync(scopes, (change, _) =>
        {
            change.Execute("UPDATE notification_deliveries SET attempts = attempts + 1, next_attempt_at = @next, last_error = @error WHERE id = @Id",
                new { delivery.Id, next = now + wait, error });
            states.Record(change, delivery.Channel, error, now);
            return Task.CompletedTask;
        }, ct);
        Logger.LogWarning("notifications: delivery {Delivery} to {Channel} failed ({Why}); trying again in {Seconds} s",
            delivery.Id, delivery.Channel, error, wait.TotalSeconds);
    }

    private sealed record DeliveryRow(string Id, string Channel, DateTimeOffset CreatedAt, long Attempts);

    private sealed record ItemRow(long Id, string Kind, string Subject, string Title, string Body, Json<List<PushAction>> Actions);
}

/// <summary>Wakes the sender when a change added to the outbox (kept apart from it: the outbox is a witness of every change).</summary>
internal sealed class NotificationOutboxSignal : WakeSignal;
