"""One character's model: fine-tune the default model on a character's pictures
(`python -m colorize character`, and the app's character training)."""

from colorize.character.errors import Cancelled, CharacterError
from colorize.character.listing import CharacterModel, list_characters
from colorize.character.names import DEFAULT_ROOT, check_name, default_work_dir
from colorize.character.progress import Progress
from colorize.character.train import train_character

__all__ = ["Cancelled", "CharacterError", "CharacterModel", "DEFAULT_ROOT", "Progress", "check_name",
           "default_work_dir", "list_characters", "train_character"]
