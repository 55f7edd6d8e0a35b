using FluentValidation;

namespace Hive.Features.Work.Leases;

/// <summary>The bounds every lease request shares: what a resource name may be, and how long a lease may last.</summary>
internal static class LeaseRules
{
    public const int MaxResourceChars = 256;
    public const int MaxReasonChars = 500;
    public const int MaxTtlSeconds = 86_400;

    /// <summary>A path or a name: not blank, at most 256 characters, no control characters.</summary>
    public static IRuleBuilderOptions<T, string?> Resource<T>(this IRuleBuilderInitial<T, string?> rule) =>
        rule.Cascade(CascadeMode.Stop)
            .Must(r => !string.IsNullOrWhiteSpace(r)).WithMessage("resource must not be empty: a path or a name")
            .Must(r => r!.Length <= MaxResourceChars).WithMessage($"resource is limited to {MaxResourceChars} characters")
            .Must(r => !r!.Any(char.IsControl)).WithMessage("resource must not contain control characters");

    /// <summary>Seconds from now: 1 to a day, when given.</summary>
    public static IRuleBuilderOptions<T, int?> Ttl<T>(this IRuleBuilderInitial<T, int?> rule) =>
        rule.InclusiveBetween(1, MaxTtlSeconds).WithMessage($"ttl_seconds must be 1 to {MaxTtlSeconds}");
}
