"""Train the customer segmentation model: `python train_model.py [OPTIONS]` runs `python -m app.cli train [OPTIONS]`.

python train_model.py [--data PATH] [--k 5|auto] [--features annual_income spending_score]
                      [--seed 42] [--model-dir models_artifacts] [--activate]

Kept for setup.sh, setup.ps1 and habit; the options, output and exit codes are the `train` command's.
"""

import sys

from app.cli.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
