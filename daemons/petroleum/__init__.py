"""Pure engineering functions for wellgate: no I/O, no clock, no logging.

Oilfield units unless a name says otherwise (psi/psia, °F, ft, in, bbl, STB/d, Mscf/d,
scf/STB, cP, ppg, lbf, md).  Floats and numpy arrays in, the same shape out.  Every formula
cites its source next to it; `docs/petroleum/<module>.md` has the reference pages.

Modules (import the one you need; nothing heavy is imported here):

- `inflow`: productivity index, Vogel, composite IPR, Standing flow efficiency, Fetkovich,
  Horner build-up analysis.
- `pvt`: Standing and Vasquez–Beggs oil correlations, Beggs–Robinson viscosity, Sutton
  pseudo-criticals, z-factor (Dranchuk–Abou-Kassem, Hall–Yarborough), gas FVF.
- `decline`: Arps decline (exponential, hyperbolic, harmonic), modified hyperbolic,
  decline conversions, robust Arps fit.
- `matbal`: volumetric OOIP, Havlena–Odeh material balance, gas p/z.
- `rodpump`: downhole card (Everitt–Jennings wave equation), fillage, loads.
- `esp`: affinity laws, hydraulic power, pump intake pressure, motor figures.
- `gaslift`: optimum injection and gas allocation by equal marginal slope.
- `pcp`: progressing-cavity pump displacement and rate.
- `drilling`: hydrostatics, ECD, mechanical specific energy, torque and drag.
- `wellcontrol`: kill sheet figures.
- `coiled_tubing`: strain, triaxial stress, buckling, lock-up, fatigue model.
- `_validate`: shared argument checks (ValueError naming the argument).
"""
