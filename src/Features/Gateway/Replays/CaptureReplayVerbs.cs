using System.Text.Json;
using System.Text.Json.Nodes;
using Hive.Contracts.Json;
using Hive.Contracts.Protocol;
using Hive.Shared.Changes;
using Hive.Shared.Socket;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Gateway.Replays;

/// <summary>
/// A replay agent's hive verbs that reach beyond it (a send, an ask, a reminder, a ticket's move, a manager's request):
/// kept in <c>replay_captures</c> and answered as the verb would answer, with the capture's id wherever the reply carries an
/// id, but never carried out: bob receives nothing, no question waits, no ticket moves. Verbs that read, or touch only the
/// agent's own turn and conversation, run as usual (<see cref="VerbReach"/>).
/// </summary>
internal sealed class CaptureReplayVerbs(ActiveReplays replays, StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock) : IVerbCapture
{
    public bool Captures(string agent) => replays.IsReplayAgent(agent);

    public async Task<object?> CaptureAsync(string agent, SocketVerb verb, JsonElement request, CancellationToken cancellationToken)
    {
        var replay = replays.ReplayOf(agent)?.Replay ?? throw new InvalidOperationException($"{agent} replays nothing");
        var args = JsonNode.Parse(request.GetRawText())!.AsObject();
        args.Remove("op");
        var id = await changes.RunAsync(scopes, (change, _) =>
        {
            var id = change.QuerySingle<long>("INSERT INTO replay_captures (replay_id, verb, args, at) VALUES (@replay, @Name, @args, @now) RETURNING id",
                new { replay, verb.Name, args = args.ToJsonString(), now = clock.GetUtcNow() });
            change.Raise(new ReplayChanged(ReplayRow.Read(change.Connection, replay, change.Transaction)!));
            return Task.FromResult(id);
        }, cancellationToken);
        return Reply(verb, id);
    }

    /// <summary>The reply's ids (a property named <c>id</c> or <c>…_id</c> that always holds a number) are the capture's; nothing else is said.</summary>
    private static JsonObject Reply(SocketVerb verb, long id)
    {
        var reply = new JsonObject();
        foreach (var property in HiveJson.Options.GetTypeInfo(verb.Reply).Properties)
        {
            // An optional id (a broadcast's, on a send) stays out, as it does when the verb runs for one recipient.
            if ((property.Name == "id" || property.Name.EndsWith("_id", StringComparison.Ordinal)) && (property.PropertyType == typeof(long) || property.PropertyType == typeof(int)))
                reply[property.Name] = id;
        }
        return reply;
    }
}
