using MediatR;

namespace Hive.Shared.Work;

/// <summary>
/// Which agent works this branch, or this commit, of a forge repository (<c>owner/name</c>): the assignee of the ticket
/// whose branch it is (<c>ticket/&lt;id&gt;-&lt;slug&gt;</c>), or null when no ticket's. Declared here because the forge's
/// webhooks (Forge) need to know while the tickets live higher up (Work answers it).
/// </summary>
public sealed record FindBranchWorker(string Repository, string? Branch, string? Sha) : IRequest<string?>;

/// <summary>The forge repositories (<c>owner/name</c>) the work layer's workflows name: the forge sweep puts its webhook on them too.</summary>
public sealed record ListWorkRepositories : IRequest<IReadOnlyList<string>>;
