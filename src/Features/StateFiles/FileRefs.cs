using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.StateFiles;

/// <summary>
/// Finds the tokens in a body that name readable state files: the server is the only judge of what is a file.
/// Every feature that shows a body (messages, questions, answers, reminders) asks this one scanner.
/// </summary>
public interface IFileRefScanner
{
    IReadOnlyList<string> Scan(string text);
}

/// <summary>
/// Until the allow-list lands (the StateFiles issue), nothing is vouched for: every body carries an empty
/// <c>file_refs</c>, which is the safe answer.
/// </summary>
internal sealed class NoFileRefs : IFileRefScanner
{
    public IReadOnlyList<string> Scan(string text) => [];
}

public static class StateFilesFeature
{
    public static IServiceCollection AddStateFiles(this IServiceCollection services) =>
        services.AddSingleton<IFileRefScanner, NoFileRefs>();
}
