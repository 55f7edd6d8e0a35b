using Hive.Contracts.Work;
using Hive.Features.Containers;
using Hive.Features.Forge;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// The operator writes a workflow (<c>PUT /api/workflows/{name}</c> <c>{yaml}</c>): parsed first, and refused with its line
/// and reason (nothing written) when it does not; else committed to the meta repo as <c>workflows/&lt;name&gt;.yaml</c> and
/// loaded. A workflow that tickets are in must keep their phases; one naming a repository the forge does not have (or with
/// no forge configured) is refused with the reason.
/// </summary>
public static class PutWorkflow
{
    public sealed record Command(string Name, string? Yaml) : IRequest<WorkflowsView>;

    internal sealed class Handler(IMediator mediator, Hive.Shared.Data.IDb db) : IRequestHandler<Command, WorkflowsView>
    {
        public async Task<WorkflowsView> Handle(Command command, CancellationToken cancellationToken)
        {
            if (string.IsNullOrWhiteSpace(command.Yaml)) throw new BadRequestException("give the workflow as {\"yaml\": \"...\"}");
            if (!WorkflowParser.WorkflowName().IsMatch(command.Name)) throw new BadRequestException("a workflow's name matches ^[a-z][a-z0-9_-]{0,40}$");
            Workflow workflow;
            try
            {
                workflow = WorkflowParser.Parse(command.Name, command.Yaml);
            }
            catch (WorkflowException e)
            {
                throw new BadRequestException($"workflows/{command.Name}.yaml line {e.Line}: {e.Reason}")
                {
                    Errors = new Dictionary<string, string[]> { ["yaml"] = [$"line {e.Line}: {e.Reason}"] },
                };
            }
            // A repository the hive cannot reach (or on the forge with no forge at all) would fail every claim: refused now, with why.
            if (WorkRepository.Of(workflow) is { } repository
                && await mediator.Send(new CheckRepository.Query(repository.Address, repository.Credential), cancellationToken) is { } problem)
                throw new BadRequestException($"workflows/{command.Name}.yaml: repository {repository.Address}: {problem}")
                {
                    Errors = new Dictionary<string, string[]> { ["repository"] = [problem] },
                };
            using (var connection = db.Open())
                if (TicketReads.PhasesInUse(connection, null, command.Name).FirstOrDefault(p => workflow.Find(p) is null) is { } gone)
                    throw new ConflictException($"tickets of {command.Name} are in phase {gone}, which this version drops: move them first");
            await mediator.Send(new WriteMetaFiles.Command("workflows", new Dictionary<string, string> { [$"{command.Name}.yaml"] = command.Yaml },
                $"operator: workflow {command.Name}"), cancellationToken);
            return await mediator.Send(new LoadWorkflows.Command(), cancellationToken);
        }
    }
}

/// <summary><c>GET /api/workflows</c>: the workflows in force and the files refused at the last load.</summary>
public static class ReadWorkflows
{
    public sealed record Query : IRequest<WorkflowsView>;

    internal sealed class Handler(WorkflowCatalog catalog) : IRequestHandler<Query, WorkflowsView>
    {
        public Task<WorkflowsView> Handle(Query query, CancellationToken cancellationToken) =>
            Task.FromResult(new WorkflowsView([.. catalog.All.Values.OrderBy(w => w.Name, StringComparer.Ordinal)], catalog.Errors));
    }
}

/// <summary>
/// A meta commit that may have changed a workflow file (one written through <see cref="WriteMetaFiles"/>, a reset): load them
/// again. Every other commit (an agent's file: one or more per create) leaves them be; a file edited by hand is loaded by
/// <c>POST /api/workflows/reload</c> or at the next start.
/// </summary>
internal sealed class ReloadWorkflowsOnMetaCommit(IMediator mediator) : INotificationHandler<MetaCommitted>
{
    public Task Handle(MetaCommitted notification, CancellationToken cancellationToken) =>
        notification.MayHaveChanged("workflows") ? mediator.Send(new LoadWorkflows.Command(), cancellationToken) : Task.CompletedTask;
}
