using Hive.Shared.Audit;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Shared.Budgets;

/// <summary>
/// Whether a parent can hand a new child a share of its budget. Declared here because Containers spawns children while
/// budgets are Governance's, higher up (it implements it); with no implementation, any share may be handed.
/// </summary>
public interface IBudgetShares
{
    /// <summary>
    /// Why <paramref name="parent"/> cannot hand <paramref name="usd"/> a month to a new child, given the
    /// <paramref name="children"/> it has alive now (their shares are spoken for), as the refusal says it; null when it can.
    /// </summary>
    string? ProblemWithShare(string parent, IReadOnlyList<string> children, double usd);
}

/// <summary>Any share: the check until a feature that keeps budgets provides one.</summary>
public sealed class AnyShare : IBudgetShares
{
    public string? ProblemWithShare(string parent, IReadOnlyList<string> children, double usd) => null;
}

/// <summary>
/// The child's monthly cost cap becomes the share handed to it, in the caller's change (so a spawn approval's agent and
/// its cap are written together), recorded as an intervention of <paramref name="By"/>: the parent when it spawned the
/// child itself (null), the operator when approving. Governance handles it.
/// </summary>
public sealed record GrantBudgetShare(string Parent, string Child, double Usd, Actor? By = null) : IRequest, IChangesState;

public static class BudgetShares
{
    /// <summary>The most a cost cap (and so a share) may be, in USD.</summary>
    public const double MaxUsd = 1_000_000;

    /// <summary>Why <paramref name="usd"/> cannot be a child's budget, as the refusal says it; null when it can.</summary>
    public static string? Problem(double? usd) => usd is not { } value || (double.IsFinite(value) && value > 0 && value <= MaxUsd)
        ? null
        : $"budget must be more than 0 and at most {MaxUsd} (USD a month)";
}
