using Hive.Contracts.Gateway;
using Hive.Features.Gateway.Calls;
using Hive.Shared.Socket;

namespace Hive.Features.Gateway;

/// <summary>An agent's own model calls over its socket: <c>calls {turn?, before?, limit?}</c> and <c>call {id}</c> (another agent's is a 404).</summary>
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
    }
}
