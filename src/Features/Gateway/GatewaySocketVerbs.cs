using Hive.Contracts.Agents;
using Hive.Contracts.Gateway;
using Hive.Features.Gateway.Calls;
using Hive.Features.Gateway.Replays;
using Hive.Shared.Socket;

namespace Hive.Features.Gateway;

/// <summary>
/// An agent's own model calls over its socket: <c>calls {turn?, before?, limit?}</c> and <c>call {id}</c> (another agent's is a
/// 404); the manager's <c>request_fork</c> (an approval).
/// </summary>
internal sealed class GatewaySocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map(GatewayVerbs.Calls, async (request, a) => new CallsReply(
            await request.Mediator.Send(new ListCalls.Query(request.Agent, a.Turn, a.Before, a.Limit ?? ListCalls.DefaultLimit), request.CancellationToken)));

        verbs.Map(GatewayVerbs.Call, async (request, a) =>
        {
            if (a.Id is not > 0) throw new Hive.Shared.Errors.BadRequestException("id must be a model call's id");
            return await request.Mediator.Send(new ReadCall.Query(a.Id.Value, AskedBy: request.Agent), request.CancellationToken);
        });

        verbs.Map(GatewayVerbs.RequestFork, async (request, a) =>
        {
            var approval = await request.Mediator.Send(new RequestFork.Command(request.Agent,
                new ForkConversation.Command(a.Agent ?? "", a.AtTurn, a.Model, a.Name, a.Message)), request.CancellationToken);
            return new ApprovalReply(approval.Id);
        });
    }
}
