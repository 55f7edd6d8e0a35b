using System.Collections.Concurrent;
using Hive.Host.Auth;
using Microsoft.Extensions.Logging;

namespace Hive.Testing;

public sealed record LogLine(string Category, LogLevel Level, string Text);

/// <summary>
/// Every log line a host writes (message, exception and structured values), captured through a logger provider so
/// tests can read the sign-in link the way a person reads it, and check that the token is in no other line.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    public const string SignInPrefix = "Sign in to the dashboard: ";
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyList<LogLine> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    /// <summary>The sign-in links logged so far (one per start of the host).</summary>
    public IReadOnlyList<string> SignInLinks =>
        Lines.Where(l => l.Category == OperatorAuth.SignInCategory && l.Text.StartsWith(SignInPrefix, StringComparison.Ordinal))
            .Select(l => l.Text[SignInPrefix.Length..].Split('\n')[0].Trim())
            .ToList();

    /// <summary>Throws when the token is in any line but a sign-in line, or when there is not exactly one sign-in line per start.</summary>
    public void AssertTokenOnlyInSignInLines(string token, int starts)
    {
        var carrying = Lines.Where(l => l.Text.Contains(token, StringComparison.Ordinal)).ToList();
        var leaks = carrying.Where(l => !(l.Category == OperatorAuth.SignInCategory && l.Text.StartsWith(SignInPrefix, StringComparison.Ordinal))).ToList();
        if (leaks.Count > 0)
            throw new InvalidOperationException("the operator token is in these log lines:\n" + string.Join("\n", leaks.Select(l => $"{l.Category}: {l.Text}")));
        if (carrying.Count != starts)
            throw new InvalidOperationException($"the token is in {carrying.Count} sign-in lines, expected one for each of {starts} starts");
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = formatter(state, exception);
            // Structured values too: a sink that writes JSON would write them even where the message template does not.
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
                text += "\n" + string.Join("\n", values.Select(v => $"{v.Key}={v.Value}"));
            if (exception is not null) text += "\n" + exception;
            capture._lines.Enqueue(new LogLine(category, logLevel, text));
        }
    }
}
