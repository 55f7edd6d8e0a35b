using Hive.Contracts.Permissions;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Socket;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Permissions;

/// <summary>
/// <c>permission</c>: the harness of an ACP agent asks for each tool call and waits for the decision. A request the policy
/// decides is answered at once; one that became a question is answered when the question is. If the harness goes away
/// first (its turn ended, the agent was stopped), the question is withdrawn: no one would act on its answer.
/// </summary>
internal sealed class PermissionsSocketVerbs(PermissionWaiters waiters, ILogger<PermissionsSocketVerbs> logger) : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs) =>
        verbs.Map(PermissionVerbs.Request, async (request, args) =>
        {
            var view = await request.Mediator.Send(new RequestPermission.Command(request.Agent, args), request.CancellationToken);
            if (view.State == PermissionStates.Asking) view = await DecidedAsync(request, view);
            return new PermissionReply(view.Id, view.State, view.OptionId, view.DecidedBy!, view.Rule, view.QuestionId);
        });

    private async Task<PermissionRequestView> DecidedAsync(SocketRequest request, PermissionRequestView asking)
    {
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(request.CancellationToken, request.ConnectionClosed);
        var woken = waiters.Register(asking.Id);
        try
        {
            while (true)
            {
                var now = await request.Mediator.Send(new ReadPermissionRequest.Query(asking.Id), CancellationToken.None);
                if (now.State != PermissionStates.Asking) return now;
                await woken.WaitAsync(gone.Token);
                woken = waiters.Register(asking.Id);
            }
        }
        catch (OperationCanceledException)
        {
            await WithdrawAsync(request.Mediator, asking);
            throw;
        }
        finally
        {
            waiters.Forget(asking.Id);
        }
    }

    private async Task WithdrawAsync(IMediator mediator, PermissionRequestView asking)
    {
        try
        {
            await mediator.Send(new CancelQuestion.Command(asking.QuestionId!.Value, AgentNames.Hive), CancellationToken.None);
        }
        catch (Exception e) when (e is Hive.Shared.Errors.HiveException)
        {
            logger.LogDebug("permissions: question {Question} was resolved before it could be withdrawn: {Error}", asking.QuestionId, e.Message);
        }
    }
}
