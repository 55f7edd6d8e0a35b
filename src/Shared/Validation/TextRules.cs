using System.Text;
using FluentValidation;
using Hive.Shared.Errors;

namespace Hive.Shared.Validation;

/// <summary>The one rule for every body the hive stores: present, not blank, at most N bytes of UTF-8.</summary>
public static class TextRules
{
    /// <summary>An empty or blank text is a <c>validation</c> error; one over <paramref name="maxBytes"/> UTF-8 bytes is <c>too_large</c>.</summary>
    public static IRuleBuilderOptions<T, string?> BoundedText<T>(this IRuleBuilderInitial<T, string?> rule, string field, int maxBytes) =>
        rule.Cascade(CascadeMode.Stop)
            .Must(text => !string.IsNullOrWhiteSpace(text)).WithMessage($"{field} must not be empty")
            .Must(text => Encoding.UTF8.GetByteCount(text!) <= maxBytes)
            .WithMessage($"{field} is limited to {maxBytes} UTF-8 bytes").WithErrorCode(ErrorCodes.TooLarge);
}
