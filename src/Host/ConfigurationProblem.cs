using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Hive.Host;

/// <summary>
/// Configuration the host cannot use, found before it starts anything and said in one line naming the key
/// (<c>hive: Hive:Reminders:TickSeconds: not a number</c>): what options binding and validation throw, wherever it
/// surfaces (registering, building, a hosted service's constructor), instead of an abort with a stack trace.
/// </summary>
public static partial class ConfigurationProblem
{
    /// <summary>
    /// Binds and validates every options type of the hive's own assemblies now, so that a bad value refuses the start here
    /// rather than in a hosted service's constructor (where the hosting log would print its stack trace first).
    /// </summary>
    public static void ValidateAll(IServiceProvider services, IServiceCollection registrations)
    {
        services.GetService<IStartupValidator>()?.Validate();
        var types = registrations
            .Select(d => d.ServiceType)
            .Where(t => t.IsGenericType && (t.GetGenericTypeDefinition() == typeof(IConfigureOptions<>) || t.GetGenericTypeDefinition() == typeof(IValidateOptions<>)))
            .Select(t => t.GetGenericArguments()[0])
            .Where(t => t.Assembly.GetName().Name?.StartsWith("Hive.", StringComparison.Ordinal) == true)
            .Distinct();
        foreach (var type in types)
        {
            var options = typeof(IOptions<>).MakeGenericType(type);
            try
            {
                options.GetProperty(nameof(IOptions<object>.Value))!.GetValue(services.GetRequiredService(options));
            }
            catch (System.Reflection.TargetInvocationException invoked) when (invoked.InnerException is { } inner)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
            }
        }
    }

    /// <summary>The line to print (without <c>hive: </c>) when <paramref name="exception"/> is a configuration problem; else null.</summary>
    public static string? Describe(Exception exception)
    {
        for (var e = exception; e is not null; e = e is AggregateException { InnerExceptions.Count: 1 } one ? one.InnerExceptions[0] : e.InnerException)
        {
            if (e is OptionsValidationException invalid) return string.Join("; ", invalid.Failures);
            // The binder names the key and the type; the value is left out (it may be something secret, mistyped).
            if (e is InvalidOperationException && FailedConversion().Match(e.Message) is { Success: true } failed)
                return $"{failed.Groups["key"].Value}: not {Kind(failed.Groups["type"].Value)}";
        }
        return null;
    }

    private static string Kind(string type) => type switch
    {
        "System.Int32" or "System.Int64" or "System.UInt32" or "System.UInt64" or "System.Int16" or "System.UInt16" or "System.Byte" => "a whole number",
        "System.Double" or "System.Single" or "System.Decimal" => "a number",
        "System.Boolean" => "true or false",
        "System.TimeSpan" => "a time span (hh:mm:ss)",
        "System.Uri" => "an address",
        _ when AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(type)).FirstOrDefault(t => t is not null) is { IsEnum: true } e =>
            $"one of {string.Join(", ", Enum.GetNames(e))}",
        _ => $"a valid {type[(type.LastIndexOf('.') + 1)..]}",
    };

    [GeneratedRegex("at '(?<key>[^']*)' to type '(?<type>[^']*)'")]
    private static partial Regex FailedConversion();
}
