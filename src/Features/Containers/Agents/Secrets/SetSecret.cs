using FluentValidation;
using Hive.Contracts.Containers;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The operator sets a secret (new, or a new value for an existing name). The answer and the <c>secrets_changed</c> event
/// carry the name and the date only. An agent that uses the secret gets the new value at its next start.
/// </summary>
public static class SetSecret
{
    public sealed record Command(string? Name, string? Value) : IRequest<(SecretView Secret, bool Created)>, IChangesState
    {
        /// <summary>Whatever prints a request prints no value.</summary>
        public override string ToString() => $"SetSecret.Command {{ Name = {Name} }}";
    }

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Name).Must(SecretStore.IsName).WithMessage($"a secret's name must match {SecretStore.NamePattern}");
            // The messages never quote the value.
            RuleFor(c => c.Value).Cascade(CascadeMode.Stop)
                .Must(v => SecretStore.ProblemWithValue(v, checkSize: false) is null)
                .WithMessage(c => SecretStore.ProblemWithValue(c.Value, checkSize: false)!)
                .Must(v => SecretStore.ProblemWithValue(v) is null)
                .WithMessage($"value is limited to {SecretStore.MaxValueBytes} UTF-8 bytes").WithErrorCode(Hive.Shared.Errors.ErrorCodes.TooLarge);
        }
    }

    internal sealed class Handler(StateChanges changes, SecretStore secrets) : IRequestHandler<Command, (SecretView Secret, bool Created)>
    {
        public Task<(SecretView Secret, bool Created)> Handle(Command command, CancellationToken cancellationToken)
        {
            var result = secrets.Set(command.Name!, command.Value!);
            changes.Current.Raise(new SecretsChanged(secrets.List()));
            return Task.FromResult(result);
        }
    }
}
