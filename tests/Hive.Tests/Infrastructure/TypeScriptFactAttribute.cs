namespace Hive.Tests.Infrastructure;

/// <summary>
/// A fact that runs TypeScript's <c>tsc</c>, which <c>./test.sh</c> installs from npm and exports as <c>HIVE_TEST_TSC</c>
/// (or, when npm cannot install it, says why in <c>HIVE_TEST_TSC_SKIP</c>): skipped, saying why, when there is none.
/// </summary>
public sealed class TypeScriptFactAttribute : FactAttribute
{
    public const string PathVariable = "HIVE_TEST_TSC";
    public const string SkipVariable = "HIVE_TEST_TSC_SKIP";

    public TypeScriptFactAttribute()
    {
        if (SkipReason is { } reason) Skip = reason;
    }

    /// <summary>The tsc <c>HIVE_TEST_TSC</c> names.</summary>
    public static string Path => Environment.GetEnvironmentVariable(PathVariable)!;

    private static string? SkipReason
    {
        get
        {
            var path = Environment.GetEnvironmentVariable(PathVariable);
            if (!string.IsNullOrEmpty(path))
                return System.IO.Path.IsPathFullyQualified(path) && File.Exists(path) ? null
                    : $"{PathVariable}={path} is not the absolute path of a file: run ./test.sh, which installs TypeScript, or correct it";
            var skip = Environment.GetEnvironmentVariable(SkipVariable);
            return string.IsNullOrEmpty(skip)
                ? $"TypeScript is not installed for the tests ({PathVariable} is not set): run ./test.sh, which installs it, or set {PathVariable}"
                : $"TypeScript is not installed for the tests: {skip}";
        }
    }
}
